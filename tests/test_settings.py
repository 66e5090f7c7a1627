"""Settings: one clear line per bad setting; durations with units, a bare number is seconds."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import URL

from schemactl.apply.session import migration_session
from schemactl.cli import main
from schemactl.settings import SettingsError, duration_seconds, load_settings, pg_duration

from .helpers import REPO, make_project


@pytest.mark.parametrize(("given", "expected"), [
    ("5", "5s"), ("5s", "5s"), ("500ms", "500ms"), ("2min", "2min"), ("1.5", "1.5s"),
    ("0", "0"), ("0ms", "0"), (" 3 s ", "3s"), (7, "7s"),
])
def test_durations_keep_or_get_a_unit(given: object, expected: str) -> None:
    assert pg_duration(given) == expected


@pytest.mark.parametrize("bad", ["x", "5 seconds", "-1", "5s; drop table t", "", "1e3"])
def test_a_bad_duration_says_what_is_expected(bad: str) -> None:
    with pytest.raises(ValueError, match="expected a duration such as 5s, 500ms or 2min"):
        pg_duration(bad)


def test_duration_seconds() -> None:
    assert [duration_seconds(v) for v in ("5", "500ms", "2min", "0")] == [5, 0.5, 120, 0]


def test_each_bad_setting_is_one_line_naming_it(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCK_RETRIES", "x")
    (tmp_path / ".env").write_text("STATEMENT_TIMEOUT=forever\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path, lock_timeout="soon")
    lines = str(caught.value).splitlines()
    assert lines[1:4] == [
        "  --lock-timeout: expected a duration such as 5s, 500ms or 2min (a bare number is "
        "seconds), got 'soon'",
        "  STATEMENT_TIMEOUT: expected a duration such as 5s, 500ms or 2min (a bare number is "
        "seconds), got 'forever'",
        "  LOCK_RETRIES: expected a whole number such as 3, got 'x'",
    ]


def test_a_bad_setting_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    result = CliRunner().invoke(main, ["-C", str(project.root), "status"],
                                env={"LOCK_RETRIES": "x"})
    assert result.exit_code == 1
    assert "LOCK_RETRIES: expected a whole number such as 3, got 'x'" in result.stderr
    assert "Traceback" not in result.output and len(result.stderr.splitlines()) <= 4


def test_sql_lock_timeout_bare_number_means_seconds() -> None:
    result = CliRunner().invoke(main, ["-C", str(REPO), "sql", "--lock-timeout", "5"])
    assert result.exit_code == 0, result.output
    assert "SET lock_timeout = '5s';" in result.stdout


def test_a_migration_session_runs_with_the_duration_meant(db_url: URL, tmp_path: Path) -> None:
    settings = load_settings(tmp_path, lock_timeout="5", statement_timeout="1.5min")
    with migration_session(db_url, settings) as conn:
        assert conn.execute(text("SHOW lock_timeout")).scalar() == "5s"
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "90s"


def test_lock_wait_takes_a_duration(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    result = CliRunner().invoke(main, ["-C", str(project.root), "apply", "--lock-wait", "soon"])
    assert result.exit_code == 2
    assert "expected a duration such as 5s" in result.stderr
