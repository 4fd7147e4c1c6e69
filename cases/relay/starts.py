"""Open the case a thrown message or signal starts, for the sender's customer, linked to the sender."""
from __future__ import annotations

from sqlmodel import Session

from engine.errors import ScriptFailed
from engine.store import DefinitionVersion

from ..case_models import Case
from ..jobs.handlers import Context
from ..links.models import CaseLink
from ..timers import SYSTEM
from .service import ThrownUndone


def open_for_sender(session: Session, ctx: Context, *, sender: Case, version: DefinitionVersion,
                    data: dict, what: str, error: type[ThrownUndone], **how) -> Case:
    """Open a case of `version` by `system` with the thrown payload as its data, started by the
    `what` ("message" or "signal") named in the job's `data` (`how`: add_case's message= or
    start_event= and signal=), and link the sender to it as its parent (session only). A start
    that fails, or a chain that loops, is `error` at the sender's throwing element."""
    from ..case_service import StartLoop, add_case  # case_service imports this package

    payload = data.get("payload")
    try:
        case = add_case(session, actor=SYSTEM, now=ctx.now, customer_id=sender.customer_id,
                        process_id=version.process_id, channel=sender.channel,
                        definition=version, data=payload if isinstance(payload, dict) else {},
                        time_limit=ctx.time_limit, lane_teams=ctx.lane_teams,
                        sender_case_id=sender.id, **how)
    except StartLoop as err:
        raise error(str(err), data.get("element_id")) from err
    except ScriptFailed as err:
        raise error(f"A new case of {version.process_id} failed at {err.element_id or 'a step'} "
                    f"while starting on {what} '{data['name']}': {err}",
                    data.get("element_id")) from err
    session.add(CaseLink(case_id=sender.id, other_case_id=case.id, kind="parent",
                         reason=f"Its {what} '{data['name']}' opened case {case.id}",
                         created_by=SYSTEM.username, created_at=ctx.now))
    return case
