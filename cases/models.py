"""Every table of Caseflow, imported in one place for Alembic and for create_all in tests."""
from engine.store import DefinitionVersion, WorkflowInstance  # noqa: F401
from engine.dmn_store import DefinitionFile, ModelFile  # noqa: F401

from .api_tokens import ApiToken  # noqa: F401
from .approvals import ApprovalRequest  # noqa: F401
from .case_models import Case, WorkItem  # noqa: F401
from .customers import Customer  # noqa: F401
from .deviations import Deviation  # noqa: F401
from .events import CaseEvent  # noqa: F401
from .reason_codes import ReasonCode  # noqa: F401
from .users import User  # noqa: F401
from .incidents.models import Incident  # noqa: F401
from .jobs.models import Job  # noqa: F401
from .outbox.models import OutboxEvent  # noqa: F401
from .webhooks.models import WebhookDelivery, WebhookSubscription  # noqa: F401
from .subscriptions.models import Subscription  # noqa: F401
from .auth.sessions import UserSession  # noqa: F401
from .auth.throttle import SigninFailure  # noqa: F401
from .external_tasks.models import ExternalTask  # noqa: F401
from .attachments.models import CaseAttachment  # noqa: F401
from .notifications.models import Notification, NotificationPreference  # noqa: F401
from .search.models import CaseSearch, SavedFilter  # noqa: F401
from .calendars.models import BusinessCalendar, TeamCalendar  # noqa: F401
from .links.models import CaseLink  # noqa: F401
