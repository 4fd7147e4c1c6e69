"""The reason-code catalog: loaded from bpmn/reason_codes.toml into a table, checked on every deviation."""
from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path

from sqlmodel import Field, Session, SQLModel, select

from .errors import Conflict, InvalidInput

DEFAULT_CATALOG = Path(__file__).resolve().parent.parent / "bpmn" / "reason_codes.toml"
DEVIATION_KINDS = ("skip", "go_back", "jump_to", "override_decision", "add_task", "reassign",
                   "extend_deadline", "hold", "resume", "cancel", "edit_data")
CATEGORIES = ("customer_driven", "internal_failure", "system", "policy")
# A code marked note_required ("..._other", "supervisor_instruction") needs a real explanation.
MIN_REQUIRED_NOTE = 10


class ReasonCode(SQLModel, table=True):
    """One catalog entry; `kinds` and `processes` are comma lists (no processes = every process)."""

    __tablename__ = "reason_code"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, sa_column_kwargs={"unique": True}, index=True)
    label: str = Field(max_length=255)
    category: str = Field(max_length=32)
    kinds: str = Field(max_length=255)
    processes: str = Field(default="", max_length=1000)
    note_required: bool = Field(default=False)
    active: bool = Field(default=True)

    @property
    def kind_list(self) -> list[str]:
        """Return the deviation kinds the code may be given for."""
        return _split(self.kinds)

    @property
    def process_list(self) -> list[str]:
        """Return the processes the code is offered in (empty: all)."""
        return _split(self.processes)


def _split(text: str) -> list[str]:
    return [p for p in (s.strip() for s in text.split(",")) if p]


def load_catalog(path: Path = DEFAULT_CATALOG) -> list[dict]:
    """Read the [[codes]] of a catalog file."""
    with open(path, "rb") as fh:
        return list(tomllib.load(fh).get("codes", []))


def _ensure_loaded(session: Session, path: Path | None) -> None:
    """Add catalog codes the table lacks and retire retired ones (session.add only)."""
    known = {r.code: r for r in session.exec(select(ReasonCode)).all()}
    for entry in load_catalog(path or DEFAULT_CATALOG):
        row = known.get(entry["code"])
        if row is None:
            row = ReasonCode(code=entry["code"], label=entry["label"], category=entry["category"],
                             kinds=",".join(entry["kinds"]),
                             processes=",".join(entry.get("processes", [])),
                             note_required=bool(entry.get("note_required", False)))
        row.active = not entry.get("retired", False)
        session.add(row)
    session.flush()


def sync_reason_codes(session: Session, *, path: Path | None = None) -> None:
    """Load the shipped catalog into the table; running it again changes nothing. Commit once."""
    try:
        _ensure_loaded(session, path)
        session.commit()
    except Exception:
        session.rollback()
        raise


def add_reason_code(session: Session, *, code: str, label: str, category: str, kinds: list[str],
                    processes: list[str] | None = None, note_required: bool = False,
                    now: datetime | None = None) -> ReasonCode:
    """Add a code to the catalog (an admin's action). Commit once."""
    errors = {}
    if not code.strip() or code != code.strip().lower() or " " in code:
        errors["code"] = "Use a snake_case code such as 'customer_moved_house'"
    if not label.strip():
        errors["label"] = "Give the code a label agents will recognise"
    if category not in CATEGORIES:
        errors["category"] = f"Choose one of {', '.join(CATEGORIES)}"
    unknown = [k for k in kinds if k not in DEVIATION_KINDS]
    if not kinds or unknown:
        errors["kinds"] = f"Choose kinds among {', '.join(DEVIATION_KINDS)}"
    if errors:
        raise InvalidInput(errors, {"code": code, "label": label, "category": category})
    try:
        _ensure_loaded(session, None)
        if session.exec(select(ReasonCode).where(ReasonCode.code == code)).first() is not None:
            raise Conflict(f"Reason code '{code}' already exists")
        row = ReasonCode(code=code, label=label.strip(), category=category, kinds=",".join(kinds),
                         processes=",".join(processes or []), note_required=note_required)
        session.add(row)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return row


def require_reason(session: Session, kind: str, code: str | None, note: str | None,
                   process_id: str) -> ReasonCode:
    """Return the catalog entry for a deviation's reason; raise InvalidInput naming what is wrong."""
    if not (code or "").strip():
        raise InvalidInput({"reason_code": "Choose a reason for this change"})
    row = session.exec(select(ReasonCode).where(ReasonCode.code == code)).first()
    if row is None and session.exec(select(ReasonCode.id).limit(1)).first() is None:
        _ensure_loaded(session, None)  # first use: the table is still empty
        row = session.exec(select(ReasonCode).where(ReasonCode.code == code)).first()
    if row is None or not row.active:
        raise InvalidInput({"reason_code": f"'{code}' is not a reason code in the catalog"})
    if kind not in row.kind_list:
        raise InvalidInput({"reason_code": f"'{row.label}' is not a reason to {kind.replace('_', ' ')}"})
    if row.process_list and process_id not in row.process_list:
        raise InvalidInput({"reason_code": f"'{row.label}' does not apply to process '{process_id}'"})
    text = (note or "").strip()
    if not text:
        raise InvalidInput({"note": "Say in a few words why (the note is kept with the case)"})
    if row.note_required and len(text) < MIN_REQUIRED_NOTE:
        raise InvalidInput({"note": f"'{row.label}' needs an explanation: say what happened"})
    return row


def codes_for(session: Session, kind: str, process_id: str | None = None) -> list[ReasonCode]:
    """Return the active codes an agent may pick for a deviation kind in a process, by label."""
    rows = session.exec(select(ReasonCode).where(ReasonCode.active.is_(True))
                        .order_by(ReasonCode.label)).all()
    return [r for r in rows if kind in r.kind_list
            and (not r.process_list or process_id is None or process_id in r.process_list)]
