"""The key of the audit chain: an HMAC key the database never holds.

Anyone who can write to the database could rewrite an event and recompute a plain hash chain;
without this key they cannot recompute an HMAC chain. The key comes from CASEFLOW_AUDIT_KEY; in
demo mode, without one, from a key file (var/audit.key) created on first use, so a restart of
`make run` keeps verifying the chains it wrote. Outside demo mode Caseflow refuses to start
without a key. Every process reads it once (`configured_audit_key`), the way lane teams are read,
so code that records events never passes it around; tests set CASEFLOW_AUDIT_KEY themselves.
"""
from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_KEY_LENGTH = 32
PLACEHOLDER_KEYS = {"", "changeme", "change-me", "secret", "caseflow", "audit"}
DEFAULT_KEY_FILE = Path("var/audit.key")
MISSING = ("Set CASEFLOW_AUDIT_KEY to a long random value (at least 32 characters, kept outside "
           "the database), or CASEFLOW_DEMO_MODE=true on a laptop")


class AuditKeyMissing(ValueError):
    """No usable audit key: a configuration error (Settings reports it as a refused value)."""


def resolve_audit_key(value: str | None, *, demo_mode: bool, key_file: Path) -> str:
    """Return the audit key to use: the configured one, or the demo key file's; raise if none."""
    if value is not None and value.strip().lower() not in PLACEHOLDER_KEYS:
        if len(value.strip()) < MIN_KEY_LENGTH:
            raise AuditKeyMissing(f"CASEFLOW_AUDIT_KEY is too short ({len(value.strip())} "
                                  f"characters); {MISSING[0].lower()}{MISSING[1:]}")
        return value.strip()
    if not demo_mode:
        raise AuditKeyMissing(MISSING)
    return _demo_key(key_file)


def _demo_key(path: Path) -> str:
    """Read the demo key file, creating it (owner-only) on first use; racing creators agree."""
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)  # another process created it first
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return _read_key(path)


def _read_key(path: Path) -> str:
    key = path.read_text(encoding="ascii").strip()
    if len(key) < MIN_KEY_LENGTH:
        raise AuditKeyMissing(f"The audit key file {path} is empty or damaged; restore it from "
                              "a backup (without it the chains it signed cannot be verified)")
    return key


class _AuditKeyEnv(BaseSettings):
    """Only what the audit key needs, for code that runs without the whole Settings."""

    model_config = SettingsConfigDict(env_prefix="CASEFLOW_", extra="ignore")

    audit_key: str | None = None
    audit_key_file: Path = DEFAULT_KEY_FILE
    demo_mode: bool = False


@lru_cache(maxsize=1)
def configured_audit_key() -> bytes:
    """Return this process's audit key as HMAC key bytes (read once; raise AuditKeyMissing)."""
    env = _AuditKeyEnv()
    key = resolve_audit_key(env.audit_key, demo_mode=env.demo_mode, key_file=env.audit_key_file)
    return key.encode("utf-8")
