"""Database URLs: every spelling users paste works, and no password form is ever shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from schemactl.cli import main
from schemactl.db.urls import display, normalize, redact

from .helpers import make_project


@pytest.mark.parametrize("url", [
    "postgres://bob@db.example/app",
    "postgresql://bob@db.example/app",
    "postgresql+psycopg://bob@db.example/app",
])
def test_every_common_spelling_becomes_psycopg(url: str) -> None:
    assert normalize(url).drivername == "postgresql+psycopg"


@pytest.mark.parametrize("text", [
    "postgresql://bob:S3cretPw@db/app",
    "postgresql://bob@db/app?password=S3cretPw&sslmode=require",
    "host=db password=S3cretPw user=bob",
    "host=db PASSWORD = 'S3cretPw' user=bob",
])
def test_redact_hides_every_password_form(text: str) -> None:
    assert "S3cretPw" not in redact(text)


def test_display_is_a_url_psql_accepts_without_the_password() -> None:
    shown = display("postgresql+psycopg://bob:pw1@db:5433/app?password=pw2&sslmode=require")
    assert shown == "postgresql://bob:***@db:5433/app?sslmode=require"


@pytest.mark.parametrize("url", [
    "postgresql://bob@127.0.0.1:1/app?password=S3cretPw",
    "postgres://bob:S3cretPw@127.0.0.1:1/app",
])
def test_no_command_prints_a_query_string_password(tmp_path: Path, url: str) -> None:
    make_project(tmp_path, "tables:\n  t:\n    columns:\n      id: bigint\n")
    for args in (["status"], ["apply", "--yes"], ["plan", "--check", "--against", url]):
        result = CliRunner().invoke(main, ["-C", str(tmp_path), *args],
                                    env={"DATABASE_URL": url, "SHADOW_DATABASE_URL": url})
        assert result.exit_code == 1, (args, result.output)
        assert "S3cretPw" not in result.output, args
        assert isinstance(result.exception, SystemExit), (args, result.exception)  # no traceback
