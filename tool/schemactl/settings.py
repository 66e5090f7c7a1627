"""Settings: flags, then environment variables, then a .env file, then defaults.

The database URL is the only secret here. It is kept as a SecretStr so that printing
the settings never shows it; use db.urls.display() for output.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL

from schemactl.db import embedded
from schemactl.db.urls import normalize
from schemactl.errors import SchemactlError

# PostgreSQL's time units for settings such as lock_timeout, in milliseconds.
_UNITS_MS = {"us": 0.001, "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?$")
DURATION_EXPECTED = "a duration such as 5s, 500ms or 2min (a bare number is seconds)"


def pg_duration(value: object) -> str:
    """A duration as PostgreSQL reads it, with its unit always written out: '5' -> '5s'.

    PostgreSQL reads a bare number in lock_timeout as milliseconds; people mean seconds,
    so schemactl never passes a bare number on (0 stays 0: no limit)."""
    text = str(value).strip()
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"expected {DURATION_EXPECTED}, got {text!r}")
    number, unit = match.groups()
    if float(number) == 0:
        return "0"
    return f"{number}{unit or 's'}"


def duration_seconds(value: object) -> float:
    """A duration (5s, 500ms, 2min, or a bare number of seconds) in seconds."""
    number, unit = _DURATION.match(pg_duration(value)).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS_MS[unit or "s"] / 1000


def _whole_number(value: object) -> object:
    if isinstance(value, str) and not value.strip().isdigit():
        raise ValueError(f"expected a whole number such as 3, got {value!r}")
    return value


Duration = Annotated[str, AfterValidator(pg_duration)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: SecretStr | None = None
    shadow_database_url: SecretStr | None = None
    # Names of throwaway and kept shadow databases start with it (db/throwaway.py).
    shadow_database_prefix: str = "schemactl"
    # Migration sessions: how long to wait for a lock, how long one statement may run.
    lock_timeout: Duration = "5s"
    statement_timeout: Duration = "0"
    lock_retries: Annotated[int, BeforeValidator(_whole_number)] = 3
    # `plan --max-lock`: the strongest lock a step may hold while it scans, rewrites or
    # builds an index on an existing table (e.g. "SHARE UPDATE EXCLUSIVE"); None: no budget.
    max_lock: str | None = None
    # `plan --atomic`: each revision one transaction, all or nothing, in the blocking forms
    # (CREATE INDEX without CONCURRENTLY, ...); for small databases, or teams that prefer it.
    atomic: bool = False


class SettingsError(SchemactlError):
    """A setting has a value schemactl cannot use; one line per setting."""


def load_settings(project_dir: Path, **flags: object) -> Settings:
    """Settings for a project; flags that are None do not override anything."""
    given = {k: v for k, v in flags.items() if v is not None}
    try:
        return Settings(_env_file=project_dir / ".env", **given)  # type: ignore[call-arg, arg-type]
    except ValidationError as exc:
        raise settings_error(exc, given) from None


def settings_error(exc: ValidationError, flags: dict[str, object]) -> SettingsError:
    """One line per bad setting, naming it as the user set it (the flag or the variable)."""
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        name = f"--{field.replace('_', '-')}" if field in flags else field.upper()
        reason = str(error.get("ctx", {}).get("error") or error["msg"]).removeprefix(
            "Value error, ")
        if error["type"] == "int_parsing":
            reason = f"expected a whole number such as 3, got {error['input']!r}"
        lines.append(f"{name}: {reason}")
    return SettingsError("invalid setting" + ("s" if len(lines) > 1 else "") + ":\n  "
                         + "\n  ".join(lines),
                         hint="settings come from flags, the environment, then .env")


def target_url(settings: Settings, project_dir: Path) -> URL:
    """The database to migrate: DATABASE_URL, or the embedded server's 'postgres' database."""
    if settings.database_url is not None:
        return normalize(settings.database_url.get_secret_value())
    return embedded.server_url(project_dir / ".schemactl" / "pgdata")


def version_warning(settings: Settings) -> str | None:
    """A warning when the target and the shadow server run different PostgreSQL majors."""
    from schemactl.db.versions import configured_mismatch

    return configured_mismatch(
        settings.database_url.get_secret_value() if settings.database_url else None,
        settings.shadow_database_url.get_secret_value() if settings.shadow_database_url
        else None)


def shadow_server_url(settings: Settings, project_dir: Path) -> URL:
    """Where throwaway shadow databases are created: SHADOW_DATABASE_URL, else the target's server."""
    if settings.shadow_database_url is not None:
        return normalize(settings.shadow_database_url.get_secret_value())
    return target_url(settings, project_dir)
