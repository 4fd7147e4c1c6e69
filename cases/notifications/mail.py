"""E-mail over SMTP (the standard library's smtplib) as the `notification_email` job kind.

The job of a notification is created with it (derive.py). It sends one message, then, in one
transaction, marks the notification sent and deletes the job: a job that runs again (retried,
or taken over after a lease expired) finds the notification no longer pending and sends nothing.
No transaction is held open while the server is talked to. The one gap no SMTP client closes,
the server taking the message and the commit then failing, would send it again; every copy
carries the same Message-ID, so mail systems can tell. A server that keeps refusing marks the
notification's e-mail failed (the job stays failed for an admin); it opens no incident on the
case: a mail server down is not the customer's problem.
"""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlmodel import Session, select

from ..jobs import service as jobs
from ..jobs.handlers import Context, register
from ..jobs.models import Job
from ..users import User
from .derive import EMAIL_KIND
from .kinds import KINDS
from .models import Notification, NotificationPreference
from .service import text_of


class MailSettings(BaseSettings):
    """CASEFLOW_SMTP_HOST/PORT/USER/PASSWORD/FROM/STARTTLS (no host: e-mail is off) and
    CASEFLOW_BASE_URL, the address people open Caseflow at (for links in messages)."""

    model_config = SettingsConfigDict(env_prefix="CASEFLOW_SMTP_", extra="ignore")

    host: str = ""
    port: int = 587
    user: str = ""
    password: str = ""
    sender: str = Field(default="caseflow@localhost",
                        validation_alias=AliasChoices("CASEFLOW_SMTP_FROM", "sender"))
    starttls: bool = True
    timeout: float = 10.0
    base_url: str = Field(default="", validation_alias=AliasChoices("CASEFLOW_BASE_URL",
                                                                     "base_url"))


def message_id(note: Notification, sender: str) -> str:
    """The same Message-ID for every attempt at one notification's e-mail."""
    domain = sender.rpartition("@")[2] or "caseflow.invalid"
    return f"<notification.{note.user_id}.{note.key.replace(':', '.')}@{domain}>"


def compose(note: Notification, user: User, to: str, settings: MailSettings) -> EmailMessage:
    """The e-mail of one notification."""
    msg = EmailMessage()
    msg["Subject"] = f"[Caseflow] {KINDS.get(note.kind, 'Notification')}"
    msg["From"] = settings.sender
    msg["To"] = to
    msg["Date"] = formatdate(note.created_at.timestamp(), usegmt=True)
    msg["Message-ID"] = message_id(note, settings.sender)
    link = (f"{settings.base_url.rstrip('/')}/cases/{note.case_id}" if settings.base_url
            else f"case {note.case_id} in Caseflow") if note.case_id else "Caseflow"
    msg.set_content(f"Hello {user.display_name},\n\n{text_of(note)}.\n\nOpen {link}.\n\n"
                    "You get this e-mail because you asked for this kind of notification; "
                    "change that under Notifications > E-mail preferences.\n")
    return msg


def send(settings: MailSettings, msg: EmailMessage) -> None:
    """Hand one message to the configured SMTP server (raise when it is not taken)."""
    if settings.port == 465:
        smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with smtp:
        if settings.starttls and settings.port != 465:
            smtp.starttls(context=ssl.create_default_context())
        if settings.user:
            smtp.login(settings.user, settings.password)
        smtp.send_message(msg)


def _pending(session: Session, job: Job) -> Notification | None:
    data = jobs.payload_of(job)
    note = session.exec(select(Notification).where(
        Notification.user_id == data.get("user_id"), Notification.key == data.get("key"))
        .execution_options(populate_existing=True)).first()
    return note if note is not None and note.email_state == "pending" else None


def _finish(session: Session, job: Job, ctx: Context, note_id: int, state: str) -> None:
    note = session.get(Notification, note_id, populate_existing=True)
    note.email_state = state
    if state == "sent":
        note.emailed_at = ctx.now
    session.add(note)
    jobs.done(session, job, ctx.owner)
    if job in session:
        session.expunge(job)  # deleted by SQL
    session.commit()


def send_notification(session: Session, job: Job, ctx: Context) -> None:
    """Send one notification's e-mail, at most once."""
    note = _pending(session, job)
    if note is None:  # sent (or given up) already: nothing to do twice
        jobs.done(session, job, ctx.owner)
        session.commit()
        return
    settings = MailSettings()
    user = session.get(User, note.user_id)
    pref = session.get(NotificationPreference, note.user_id)
    if not settings.host or pref is None or not pref.email or not user.active:
        _finish(session, job, ctx, note.id, "skipped")
        return
    msg = compose(note, user, pref.email, settings)
    note_id = note.id
    session.commit()  # hold no transaction open while the server answers
    try:
        send(settings, msg)
    except (smtplib.SMTPException, OSError) as err:
        _failed(session, job, ctx, note_id, f"{type(err).__name__}: {err}")
        return
    if jobs.held(session, job.id, ctx.owner) is None:
        raise jobs.LeaseLost(f"job {job.id} was taken over by another worker")
    _finish(session, job, ctx, note_id, "sent")


def _failed(session: Session, job: Job, ctx: Context, note_id: int, error: str) -> None:
    """Count the attempt (backing off); at the limit the e-mail is failed, the job kept."""
    stored = jobs.fail(session, job.id, ctx.owner, error=error, now=ctx.now)
    if stored is not None and stored.state == "failed":
        note = session.get(Notification, note_id, populate_existing=True)
        note.email_state = "failed"
        session.add(note)
    session.commit()


register(EMAIL_KIND, send_notification)
__all__ = ["MailSettings", "compose", "send", "send_notification", "message_id"]
