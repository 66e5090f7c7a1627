"""Settings: flags, then environment variables, then a .env file, then defaults.

The database URL is the only secret here. It is kept as a SecretStr so that printing
the settings never shows it; use db.urls.display() for output.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL

from schemactl.db import embedded
from schemactl.db.urls import normalize


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: SecretStr | None = None
    shadow_database_url: SecretStr | None = None
    # Migration sessions: how long to wait for a lock, how long one statement may run.
    lock_timeout: str = "5s"
    statement_timeout: str = "0"
    lock_retries: int = 3
    # `plan --max-lock`: the strongest lock a step may hold while it scans, rewrites or
    # builds an index on an existing table (e.g. "SHARE UPDATE EXCLUSIVE"); None: no budget.
    max_lock: str | None = None


def load_settings(project_dir: Path, **flags: object) -> Settings:
    """Settings for a project; flags that are None do not override anything."""
    given = {k: v for k, v in flags.items() if v is not None}
    return Settings(_env_file=project_dir / ".env", **given)  # type: ignore[call-arg, arg-type]


def target_url(settings: Settings, project_dir: Path) -> URL:
    """The database to migrate: DATABASE_URL, or the embedded server's 'postgres' database."""
    if settings.database_url is not None:
        return normalize(settings.database_url.get_secret_value())
    return embedded.server_url(project_dir / ".schemactl" / "pgdata")


def shadow_server_url(settings: Settings, project_dir: Path) -> URL:
    """Where throwaway shadow databases are created: SHADOW_DATABASE_URL, else the target's server."""
    if settings.shadow_database_url is not None:
        return normalize(settings.shadow_database_url.get_secret_value())
    return target_url(settings, project_dir)
