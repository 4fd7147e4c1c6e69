"""The one Settings object; every part of Caseflow is built from it (see web.app.create_app)."""
from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.sandbox_pool import DEFAULT_MEMORY_MB, DEFAULT_WORKERS, MIN_MEMORY_MB

from .audit_key import DEFAULT_KEY_FILE, resolve_audit_key

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "caseflow"}
DEFAULT_SQLITE = "sqlite:///var/caseflow.sqlite3"


class Settings(BaseSettings):
    """Configuration from CASEFLOW_* environment variables, with safe defaults for a laptop."""

    model_config = SettingsConfigDict(env_prefix="CASEFLOW_", extra="ignore")

    database_url: str = DEFAULT_SQLITE
    secret_key: str | None = None
    # HMAC key of the case event chains, never stored in the database (see cases/audit_key.py);
    # demo mode without one uses audit_key_file, created on first use.
    audit_key: str | None = None
    audit_key_file: Path = DEFAULT_KEY_FILE
    demo_mode: bool = False
    script_time_limit: float = 2.0
    # Script worker processes per server process and the address space each may use; the engine's
    # pool reads these same CASEFLOW_SCRIPT_WORKERS / CASEFLOW_SCRIPT_MEMORY_MB variables.
    script_workers: int = DEFAULT_WORKERS
    script_memory_mb: int = DEFAULT_MEMORY_MB
    max_upload_bytes: int = 10 * 1024 * 1024
    session_max_age: int = 8 * 3600
    # A sign-in session ends after this many minutes without a request (besides session_max_age).
    session_idle_minutes: int = 30
    # Failed sign-ins within signin_lock_minutes that lock an account, and a client address.
    signin_max_failures: int = 5
    signin_max_failures_per_address: int = 20
    signin_lock_minutes: int = 15
    secure_cookies: bool = False
    bpmn_dir: Path = Path(__file__).resolve().parent.parent / "bpmn"
    # Lane name -> team that works it (JSON in CASEFLOW_LANE_TEAMS); an unmapped lane is its own team.
    lane_teams: dict[str, str] = {}
    # Share of a step's or promise's time after which it counts as at risk (CASEFLOW_SLA_AT_RISK).
    sla_at_risk: float = 0.8
    # The job executor (timers, SLA sweeps, signal deliveries...) runs inside `caseflow serve`
    # unless CASEFLOW_RUN_JOBS=false (then run `caseflow worker` processes instead).
    run_jobs: bool = True
    job_poll_seconds: float = 1.0
    sla_sweep_every: float = 60.0
    # PostgreSQL connections each server process keeps (and opens beyond that under a burst,
    # closing them after); the pool size is also the most requests a process works on at once
    # (web/app.py). With fewer connections kept than requests at once, connections were opened
    # and closed all the time (a new backend process each, its prepared statements lost). Mind
    # PostgreSQL's max_connections: processes x (size + overflow), plus `caseflow worker` and
    # the command line.
    db_pool_size: int = Field(default=10, ge=1, le=500)
    db_pool_overflow: int = Field(default=20, ge=0, le=500)
    # Webhooks (cases/webhooks, README "Webhooks"): networks beyond the public internet that
    # webhook URLs may reach (comma-separated CIDRs; link-local and metadata stay refused),
    # attempts before a delivery fails, seconds to wait for a receiver, seconds between looks
    # at the outbox. Deliveries read the same CASEFLOW_WEBHOOK_* variables (urls.WebhookSettings).
    webhook_allow_networks: str = ""
    webhook_max_attempts: int = 8
    webhook_timeout: float = 5.0
    webhook_dispatch_every: float = 2.0
    # Operators (README "Running it"): log lines as JSON (one object a line) or plain text, the
    # least level logged, and the bearer token Prometheus sends to /metrics (admins may look too).
    log_format: Literal["json", "plain"] = "json"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    metrics_token: str | None = None

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        import sqlalchemy as sa

        try:
            backend = sa.engine.make_url(value).get_backend_name()
        except Exception:  # noqa: BLE001 - any unparsable address gets the same advice
            backend = None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError("give sqlite:///path/to/file.sqlite3 or "
                             "postgresql://user:password@host:5432/database")
        return value

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _lowercase(cls, value):
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if value.strip().lower() in PLACEHOLDER_SECRETS or len(value.strip()) < 32:
            raise ValueError("use a long random value (at least 32 characters), or leave it "
                             "unset so that only admins can read /metrics")
        return value.strip()
    # Attachments (cases/attachments, README "Attachments"): the directory their files live in
    # (outside the database) and the largest file accepted.
    attachment_dir: Path = Path("var/attachments")
    attachment_max_bytes: int = 10 * 1024 * 1024

    @field_validator("script_time_limit")
    @classmethod
    def _positive_limit(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("script_time_limit must be positive")
        return value

    @field_validator("script_workers")
    @classmethod
    def _some_workers(cls, value: int) -> int:
        if value < 1:
            raise ValueError("script_workers must be at least 1")
        return value

    @field_validator("script_memory_mb")
    @classmethod
    def _enough_memory(cls, value: int) -> int:
        if value < MIN_MEMORY_MB:
            raise ValueError(f"script_memory_mb must be at least {MIN_MEMORY_MB}")
        return value

    @field_validator("session_idle_minutes", "signin_max_failures",
                     "signin_max_failures_per_address", "signin_lock_minutes")
    @classmethod
    def _at_least_one(cls, value: int, info) -> int:
        if value < 1:
            raise ValueError(f"{info.field_name} must be at least 1")
        return value

    @field_validator("webhook_allow_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        from .webhooks.urls import parse_networks

        parse_networks(value)
        return value

    @field_validator("webhook_max_attempts", "webhook_timeout", "webhook_dispatch_every")
    @classmethod
    def _webhook_positive(cls, value: float, info) -> float:
        if value <= 0 or (info.field_name == "webhook_max_attempts" and value < 1):
            raise ValueError(f"{info.field_name} must be positive")
        return value

    @field_validator("attachment_max_bytes")
    @classmethod
    def _attachment_size(cls, value: int) -> int:
        if value < 1:
            raise ValueError("attachment_max_bytes must be at least 1")
        return value

    @field_validator("sla_at_risk")
    @classmethod
    def _share(cls, value: float) -> float:
        if not 0 < value < 1:
            raise ValueError("sla_at_risk must be between 0 and 1 (for example 0.8)")
        return value

    @model_validator(mode="after")
    def _secret(self) -> "Settings":
        if self.secret_key is None or self.secret_key.strip().lower() in PLACEHOLDER_SECRETS:
            if not self.demo_mode:
                raise ValueError("Set CASEFLOW_SECRET_KEY to a long random value "
                                 "(or CASEFLOW_DEMO_MODE=true on a laptop)")
            self.secret_key = secrets.token_urlsafe(32)
        return self

    @model_validator(mode="after")
    def _audit_key(self) -> "Settings":
        self.audit_key = resolve_audit_key(self.audit_key, demo_mode=self.demo_mode,
                                           key_file=self.audit_key_file)
        return self


class _LaneTeams(BaseSettings):
    """Only CASEFLOW_LANE_TEAMS, for code that runs without the whole Settings (sweeps, tests)."""

    model_config = SettingsConfigDict(env_prefix="CASEFLOW_", extra="ignore")

    lane_teams: dict[str, str] = {}


@lru_cache(maxsize=1)
def configured_lane_teams() -> dict[str, str]:
    """Return the lane -> team mapping of this process's environment (read once)."""
    return dict(_LaneTeams().lane_teams)
