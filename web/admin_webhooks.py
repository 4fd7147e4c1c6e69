"""The admin page of webhooks: subscribe a URL (its secret shown once), remove one, read the
delivery log and replay a delivery. Admins only; every form carries the CSRF token."""
from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from cases.errors import CaseError, InvalidInput
from cases.outbox.models import PUBLISHED
from cases.users import User
from cases.webhooks import service as hooks

from .inputs import PathId
from .security import SessionDep, require_csrf, require_role
from .work_cases import FormData
from .work_common import flash, now, pop_flash, redirect, render, status_for

router = APIRouter(include_in_schema=False)
AdminUser = Annotated[User, Depends(require_role("admin"))]
PAGE = "/admin/webhooks"


def _page(request: Request, session, user: User, *, failed: bool = False, status_code: int = 200,
          errors: dict | None = None, typed: dict | None = None, secret: str | None = None,
          message: str | None = None):
    subs = hooks.list_subscriptions(session)
    context = {"user": user, "subs": subs, "failed": failed,
               "deliveries": hooks.list_deliveries(session, failed_only=failed, limit=50),
               "types": sorted(PUBLISHED), "errors": errors or {}, "typed": typed or {},
               "secret": secret, "message": message, "flash": pop_flash(request),
               "loads": json.loads}
    return render(request, "admin/webhooks.html", context, status_code=status_code)


@router.get(PAGE)
def webhooks_page(request: Request, session: SessionDep, user: AdminUser, failed: bool = False):
    """Subscriptions, the form to add one and the latest deliveries."""
    return _page(request, session, user, failed=failed)


@router.post(PAGE, dependencies=[Depends(require_csrf)])
def webhook_add(request: Request, session: SessionDep, user: AdminUser, form: dict = FormData):
    """Subscribe a URL; the answer shows its signing secret this once (so no redirect)."""
    typed = {k: str(form.get(k, ""))[:2000] for k in ("url", "events", "processes")}
    try:
        sub, secret = hooks.add_subscription(session, actor=user.username, now=now(),
                                             url=typed["url"], events=typed["events"],
                                             processes=typed["processes"])
    except InvalidInput as err:
        return _page(request, session, user, status_code=422, errors=err.errors, typed=typed,
                     message="The webhook was not added; see the fields below.")
    return _page(request, session, user, status_code=201, secret=secret,
                 message=f"Webhook {sub.id} added.")


def _act(request: Request, session, user: User, fn, done: str, **ids):
    try:
        fn(session, actor=user.username, now=now(), **ids)
    except CaseError as err:
        return _page(request, session, user, status_code=status_for(err), message=str(err))
    flash(request, done)
    return redirect(PAGE)


@router.post(PAGE + "/{webhook_id}/remove", dependencies=[Depends(require_csrf)])
def webhook_remove(request: Request, session: SessionDep, user: AdminUser, webhook_id: PathId):
    """Delete a subscription and its delivery log."""
    return _act(request, session, user, hooks.remove_subscription,
                f"Webhook {webhook_id} removed.", subscription_id=webhook_id)


@router.post(PAGE + "/deliveries/{delivery_id}/replay", dependencies=[Depends(require_csrf)])
def webhook_replay(request: Request, session: SessionDep, user: AdminUser, delivery_id: PathId):
    """Send a delivery again with the next job round."""
    return _act(request, session, user, hooks.replay,
                f"Delivery {delivery_id} will be sent again.", delivery_id=delivery_id)
