"""migrations/schemactl.sum: every way files and sum can disagree is found and named."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from schemactl.apply import checksums
from schemactl.cli import main
from schemactl.project import Project

from .apply_helpers import new_project, write_revision


@pytest.fixture
def project(tmp_path: Path) -> Project:
    project = new_project(tmp_path / "p")
    write_revision(project, "0001", "create_users", ["CREATE TABLE users (id int)"])
    write_revision(project, "0002", "add_name", ["ALTER TABLE users ADD name text"], down="0001")
    return project


def test_the_sum_lists_each_revision_and_its_sql_under_a_total(project: Project) -> None:
    lines = project.sum_file.read_text().splitlines()
    assert lines[0].startswith("total sha256:")
    assert [line.split(" ")[0] for line in lines[1:]] == [
        "sql/0001_create_users.sql", "sql/0002_add_name.sql",
        "versions/0001_create_users.py", "versions/0002_add_name.py",
    ]
    assert checksums.verify(project) == []


def test_recording_twice_gives_the_same_file(project: Project) -> None:
    before = project.sum_file.read_text()
    checksums.record(project)
    assert project.sum_file.read_text() == before


@pytest.mark.parametrize("name", ["versions/0002_add_name.py", "sql/0001_create_users.sql"])
def test_an_edited_file_is_named(project: Project, name: str) -> None:
    path = project.migrations_dir / name
    path.write_text(path.read_text() + "-- a late fix\n")
    assert [str(p) for p in checksums.verify(project)] == [
        f"{name}: changed since it was recorded"]


def test_a_new_unrecorded_and_a_removed_file_are_named(project: Project) -> None:
    write_revision(project, "0003", "extra", ["SELECT 1"], down="0002", record=False)
    (project.sql_dir / "0001_create_users.sql").unlink()
    assert [str(p) for p in checksums.verify(project)] == [
        "sql/0001_create_users.sql: recorded in the sum file but missing",
        "sql/0003_extra.sql: not recorded in the sum file",
        "versions/0003_extra.py: not recorded in the sum file",
    ]


def test_a_hand_edited_sum_file_is_caught_by_its_total(project: Project) -> None:
    # Someone "fixes" a checksum by hand to match an edited revision.
    path = project.versions_dir / "0002_add_name.py"
    path.write_text(path.read_text() + "# edited\n")
    old = dict(line.split(" ") for line in project.sum_file.read_text().splitlines())
    text = project.sum_file.read_text().replace(
        old["versions/0002_add_name.py"], checksums.file_checksum(path))
    project.sum_file.write_text(text)
    assert [str(p) for p in checksums.verify(project)] == [
        "schemactl.sum: edited by hand: its total does not match"]


def test_a_missing_sum_file_is_a_problem_only_when_there_are_revisions(tmp_path: Path) -> None:
    empty = new_project(tmp_path / "empty")
    assert checksums.verify(empty) == []
    write_revision(empty, "0001", "first", ["SELECT 1"], record=False)
    assert [p.path for p in checksums.verify(empty)] == ["schemactl.sum"]


def test_hash_command_re_records_after_a_deliberate_edit(project: Project) -> None:
    path = project.versions_dir / "0001_create_users.py"
    path.write_text(path.read_text() + "# reviewed fix\n")
    assert checksums.verify(project) != []
    result = CliRunner().invoke(main, ["-C", str(project.root), "hash"])
    assert result.exit_code == 0, result.output
    assert "Recorded the checksums of 4 files in migrations/schemactl.sum" in result.output
    assert checksums.verify(project) == []
