"""The one validated settings object, built once at the edge and passed in."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chaperone.common.validation import known_region, known_zone

DEFAULT_HOME = Path(".chaperone")


class Settings(BaseModel):
    """Where Chaperone keeps its data and which store it uses."""

    model_config = ConfigDict(frozen=True)

    home: Path = DEFAULT_HOME
    database_url: str | None = None
    default_region: str = "US"
    timezone: str = "UTC"
    ingest_max_message_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    ingest_max_nesting: int = Field(default=20, ge=1, le=200)
    ingest_max_parts: int = Field(default=1000, ge=1)
    ingest_batch_size: int = Field(default=20_000, ge=1)
    spark_master: str = "local[*]"
    audit_memory_limit: str = "3GB"
    lake_compact_target_mb: float = Field(default=64.0, gt=0)
    gateway_mode: Literal["enforce", "monitor"] = "enforce"
    gateway_actions: dict[str, str] = Field(
        default_factory=lambda: {"9052-A-direct": "REJECT", "9052-A-platform": "REJECT"}
    )
    gateway_fail_action: str = "DUNNO"
    gateway_idle_seconds: float = Field(default=300.0, gt=0)
    gateway_max_connections: int = Field(default=1000, ge=1)
    gateway_workers: int = Field(default=1, ge=1, le=64)
    gateway_reload_seconds: float = Field(default=30.0, gt=0)
    gateway_event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    gateway_record_decisions: bool = True
    gateway_flush_seconds: float = Field(default=5.0, gt=0)
    gateway_flush_decisions: int = Field(default=5000, ge=1)
    gateway_publish_seconds: float = Field(default=300.0, gt=0)
    web_session_hours: float = Field(default=8.0, gt=0, le=24 * 30)
    web_secure_cookies: bool = True
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_name: str = "single sign-on"
    oidc_scopes: str = "openid email profile"
    oidc_username_claim: str = "email"
    public_url: str | None = None
    mail_from: str | None = None
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    ack_remind_days: int = Field(default=7, ge=1)
    audit_log_key_file: Path | None = None
    audit_log_checkpoint_file: Path | None = None
    audit_log_syslog: bool = True
    ack_link_key_file: Path | None = None
    trusted_proxies: tuple[str, ...] = ()
    decide_api_key_file: Path | None = None
    oidc_verified_claim: str = "email_verified"

    _known_region = field_validator("default_region")(known_region)
    _known_zone = field_validator("timezone")(known_zone)

    @field_validator("database_url")
    @classmethod
    def _supported_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("CHAPERONE_DATABASE_URL must be a sqlite:// or postgresql:// URL")
        return value or None

    @field_validator("public_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("CHAPERONE_PUBLIC_URL must be an http(s):// address")
        return value.rstrip("/") if value else None

    @property
    def store_url(self) -> str:
        """SQLAlchemy URL of the store: PostgreSQL when configured, else SQLite in home."""
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
            return url
        return f"sqlite:///{(self.home / 'chaperone.db').resolve()}"

    @property
    def audit_log_key_path(self) -> Path:
        """The audit log's key file: the setting, else `audit-log.key` in home."""
        return self.audit_log_key_file or self.home / "audit-log.key"

    @property
    def audit_log_checkpoint_path(self) -> Path:
        """The audit log's checkpoint file: the setting, else `audit-log.checkpoints` in home."""
        return self.audit_log_checkpoint_file or self.home / "audit-log.checkpoints"

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies(cls, value: object) -> object:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            return value
        proxies = tuple(str(item).strip() for item in items if str(item).strip())
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError as exc:
                raise ValueError(
                    f'CHAPERONE_TRUSTED_PROXIES: "{proxy}" is not an address or network'
                ) from exc
        return proxies

    @property
    def ack_link_key_path(self) -> Path:
        """The acknowledgment link key file: the setting, else `ack-links.key` in home."""
        return self.ack_link_key_file or self.home / "ack-links.key"

    @classmethod
    def from_environment(cls, env: Mapping[str, str], *, home: Path | None = None) -> Settings:
        """Settings from CHAPERONE_* variables, with an explicit --home taking precedence."""
        values: dict[str, object] = {
            "home": home or Path(env.get("CHAPERONE_HOME") or DEFAULT_HOME),
            "database_url": env.get("CHAPERONE_DATABASE_URL") or None,
        }
        for name in ENVIRONMENT:
            if env.get(f"CHAPERONE_{name.upper()}"):
                values[name] = env[f"CHAPERONE_{name.upper()}"]
        if env.get("CHAPERONE_GATEWAY_ACTIONS"):  # e.g. "9052-A-direct=HOLD,9052-A-platform=WARN"
            pairs = (item.partition("=") for item in env["CHAPERONE_GATEWAY_ACTIONS"].split(","))
            values["gateway_actions"] = {k.strip(): v.strip() for k, _s, v in pairs if k.strip()}
        return cls.model_validate(values)


# Settings read from CHAPERONE_<NAME> variables besides home and database_url.
ENVIRONMENT = (
    "default_region",
    "timezone",
    "ingest_max_message_bytes",
    "ingest_max_nesting",
    "ingest_max_parts",
    "ingest_batch_size",
    "spark_master",
    "audit_memory_limit",
    "lake_compact_target_mb",
    "gateway_mode",
    "gateway_fail_action",
    "gateway_idle_seconds",
    "gateway_max_connections",
    "gateway_workers",
    "gateway_reload_seconds",
    "gateway_event_loop",
    "gateway_record_decisions",
    "gateway_flush_seconds",
    "gateway_flush_decisions",
    "gateway_publish_seconds",
    "web_session_hours",
    "web_secure_cookies",
    "oidc_issuer",
    "oidc_client_id",
    "oidc_client_secret",
    "oidc_name",
    "oidc_scopes",
    "oidc_username_claim",
    "public_url",
    "mail_from",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
    "smtp_password",
    "ack_remind_days",
    "audit_log_key_file",
    "audit_log_checkpoint_file",
    "audit_log_syslog",
    "ack_link_key_file",
    "trusted_proxies",
    "decide_api_key_file",
    "oidc_verified_claim",
)
