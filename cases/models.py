"""Every table of Caseflow, imported in one place for Alembic and for create_all in tests."""
from engine.store import DefinitionVersion, WorkflowInstance  # noqa: F401
from .users import User  # noqa: F401
