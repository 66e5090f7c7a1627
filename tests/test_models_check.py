"""compare_models: an application's MetaData against the YAML, every kind of difference with
the YAML's file:line (pure: no database)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from schemactl.diff.models_check import compare_models
from schemactl.render.models import render_models
from schemactl.spec.load import load_text
from schemactl.spec.types import SchemaSpec
from schemactl.spec.validate import load_schema, validate
from tests.models_helpers import imported
from tests.test_models_render import REPO, SCHEMAS

YAML = """\
tables:
  users:
    columns:
      id: {type: bigint, identity: true, primary_key: true}
      email: {type: varchar(120), unique: true}
      score: {type: integer, default: 0}
      team_id: {type: integer, references: teams.id, on_delete: cascade}
    indexes:
      - columns: [score]
  teams:
    columns:
      id: {type: integer, primary_key: true}
      name: text
  audit:
    columns:
      at: timestamptz
"""


def spec() -> SchemaSpec:
    return validate([load_text(YAML, "schema/app.yaml")])


def app_metadata() -> sa.MetaData:
    """What a hand-written application might have: each line below differs on purpose."""
    metadata = sa.MetaData()
    sa.Table("teams", metadata,
             sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
             sa.Column("name", sa.Text, nullable=False))
    sa.Table("users", metadata,
             sa.Column("id", sa.Integer, primary_key=True),  # int, serial: not bigint identity
             sa.Column("email", sa.String(120), nullable=False),  # no unique key
             sa.Column("score", sa.Integer, nullable=False, default=0),  # Python-side default only
             sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id"), nullable=False),  # no cascade
             sa.Column("nickname", sa.Text),  # not in the YAML
             sa.Index("users_email_idx", "email"))  # an index the YAML lacks; score's is missing
    sa.Table("sessions", metadata, sa.Column("id", postgresql.UUID, primary_key=True))
    return metadata


def test_every_kind_of_difference_is_listed_with_its_yaml_line() -> None:
    found = [str(d) for d in compare_models(app_metadata(), spec())]
    assert found == [
        "schema/app.yaml:4:7: table public.users, column id: type is INTEGER in the models, "
        "BIGINT in the YAML",
        "schema/app.yaml:4:7: table public.users, column id: default is serial (SQLAlchemy's "
        "autoincrement) in the models, identity (by default) in the YAML",
        "schema/app.yaml:6:7: table public.users, column score: default is none in the database "
        "(only a Python-side default) in the models, 0 in the YAML",
        "schema/app.yaml:2:3: table public.users, column nickname: in the models but not in the YAML",
        "schema/app.yaml:5:35: table public.users: unique (email) is missing from the models",
        "schema/app.yaml:7:44: table public.users: foreign key (team_id) -> public.teams (id) in "
        "the models, foreign key (team_id) -> public.teams (id) on delete cascade in the YAML",
        "schema/app.yaml:9:9: table public.users: index (score) is missing from the models",
        "schema/app.yaml:2:3: table public.users: index (email) is in the models but not in the YAML",
        "schema/app.yaml:14:3: table public.audit: missing from the models",
        "table public.sessions: in the models but not in the YAML",
    ]


@pytest.mark.parametrize("source", SCHEMAS)
def test_generated_models_have_no_difference(source: str, tmp_path: Path) -> None:
    """No false alarm: the models generated from a schema agree with it, whatever it holds."""
    schema = load_schema(REPO / source, base=REPO)
    with imported(render_models(schema), tmp_path) as module:
        assert compare_models(module.Base.metadata, schema) == []


OPTIONS_YAML = """\
extensions: [btree_gist]
tables:
  rooms:
    unlogged: true
    with: {fillfactor: 70}
    columns:
      id: {type: integer, primary_key: true}
      code: {type: varchar(20), collation: C}
      during: tstzrange
      slot: {type: integer, nullable: true}
    unique:
      - {columns: [slot], nulls_not_distinct: true, deferrable: true}
    indexes:
      - columns: [{column: code, order: desc}]
        using: btree
        with: {fillfactor: 80}
    exclude:
      - elements: [{column: id, operator: "="}, {column: during, operator: "&&"}]
"""


def test_the_widened_options_are_compared_too() -> None:
    """Collation (through the type), index key options and storage parameters, unique keys'
    NULLS NOT DISTINCT and deferrability, exclusion constraints, UNLOGGED and a table's WITH."""
    metadata = sa.MetaData()
    sa.Table("rooms", metadata,
             sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
             sa.Column("code", sa.String(20), nullable=False),  # no collation
             sa.Column("during", postgresql.TSTZRANGE, nullable=False),
             sa.Column("slot", sa.Integer),
             sa.UniqueConstraint("slot"),  # NULLs distinct, not deferrable
             sa.Index("rooms_code_idx", "code"))  # ascending, no fillfactor; and no exclusion
    found = [str(d) for d in compare_models(metadata, validate([load_text(OPTIONS_YAML, "s.yaml")]))]
    assert found == [
        's.yaml:8:7: table public.rooms, column code: type is VARCHAR(20) in the models, '
        'VARCHAR(20) COLLATE "C" in the YAML',
        "s.yaml:12:9: table public.rooms: unique (slot) nulls not distinct deferrable is missing "
        "from the models",
        "s.yaml:3:3: table public.rooms: unique (slot) is in the models but not in the YAML",
        "s.yaml:18:9: table public.rooms: exclude using gist (id with =, during with &&) is "
        "missing from the models",
        "s.yaml:3:3: table public.rooms: logged in the models, unlogged with (fillfactor=70) in "
        "the YAML",
        "s.yaml:14:9: table public.rooms: index (code desc) with (fillfactor=80) is missing from "
        "the models",
        "s.yaml:3:3: table public.rooms: index (code) is in the models but not in the YAML",
    ]
