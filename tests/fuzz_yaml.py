"""Generated and mutated schema YAML, and the properties every document must keep.

Shared by tests/test_fuzz.py (a bounded number of examples, in CI) and bench/fuzz.py (as
many as asked). Documents are built from pools of names, types, values and SQL fragments
that mix the ordinary with the hostile (reserved and system names, newlines and quotes in
names, time words, NaN, huge numbers, injection attempts), then optionally mutated as text
(YAML syntax, anchors, merge keys, tags, control characters, lone surrogates spliced in).

The properties (issue: hostile input never wins):
- validate: no exception but SpecError escapes, and every diagnostic names file, line
  and column;
- plan: what validate accepts, plan accepts, or it refuses with diagnostics that name the
  YAML file, line and column (E901); nothing else escapes.
"""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import strategies as st

from schemactl.errors import SpecError
from schemactl.spec.load import load_text
from schemactl.spec.types import SchemaSpec
from schemactl.spec.validate import validate

FILE = "fuzz.yaml"

NAMES = ["t", "users", "posts", "a", "b", "id", "user", "select", "Mixed", "a b", "x" * 64,
         "é", "xmin", "oid", "a\nb", 'q"uote', "it's", "t_id_seq", "1", "", " ", "a\tb",
         "alembic_version", "pg_x", "n" * 63]
TYPES = ["int", "bigint", "smallint", "text", "varchar(10)", "char(2)", "numeric(5,2)",
         "numeric", "real", "double precision", "boolean", "date", "timestamptz", "timestamp",
         "time", "interval", "uuid", "jsonb", "json", "inet", "cidr", "bytea", "text[]",
         "int[]", "mood", "money2", "varchar(0)", "numeric(2,5)", "int[][]"]
VALUES: list[Any] = [0, -1, 2**40, 2**70, 1.5, float("nan"), float("inf"), True, False, "", "x",
                     "it's", "now", "today", "tomorrow", "epoch", "2024-02-29", "2024-13-45",
                     "2024-02-29 12:00:00+02", "12:30", "25:00", "1 day", "3 parsecs", "P1D",
                     [], [1, 2], ["a", None], {"a": 1}, {"k": [float("nan")]}, None, "a\nb",
                     "é", "y" * 300, 12345.678, "happy", "\\x00ff", "\\x0", "10.0.0.1",
                     "300.1.1.1", "123e4567-e89b-12d3-a456-426614174000", "'); drop table t; --"]
FRAGMENTS = ["now()", "1", "'x'", "gen_random_uuid()", "a + 1", "nosuch()", "current_date",
             "now()); drop table t; --", "(", "", "'{}'::jsonb", "1 = 1", "a > 0", "a",
             "length(b) > 0", "true", "b || 'x'", "b::text", "lower(b)", "x > 1",
             "(select 1)", "a -- comment", "'a;b'", "current_user", "1/0"]
KEYS = ["type", "nullable", "primary_key", "unique", "default", "default_sql", "identity",
        "generated", "comment", "renamed_from", "references", "on_delete", "typ"]
HOSTILE = ["&a ", "*a", "<<: *a\n", "<<: ", "!!int ", "!!float ", "!!bool ", "!!binary ",
           "!!python/object ", "? ", "- ", ": ", "{", "}", "[", "]", "'", '"', '"\\ud83c"',
           '"\\0"', "\t", "\x01", "\x00", "#", "|", ">", "%YAML 1.1\n", "---\n", "...\n",
           "9" * 4400, "\u2028", "\ufeff", "\\", "&b [*b]", "0x_", "0b102", ".nan", "~", "\n  "]


def _column() -> st.SearchStrategy[Any]:
    shorthand = st.sampled_from(TYPES)
    full = st.dictionaries(st.sampled_from(KEYS), st.one_of(
        st.sampled_from(TYPES), st.sampled_from(VALUES), st.sampled_from(FRAGMENTS),
        st.sampled_from(NAMES)), max_size=4).map(lambda d: {"type": "int", **d})
    return st.one_of(shorthand, full)


def _index(columns: list[str]) -> st.SearchStrategy[Any]:
    element = st.one_of(st.sampled_from(columns or ["a"]), st.sampled_from(NAMES),
                        st.sampled_from(FRAGMENTS).map(lambda f: {"expression": f}))
    return st.fixed_dictionaries(
        {"columns": st.lists(element, min_size=0, max_size=3)},
        optional={"unique": st.booleans(), "where": st.sampled_from(FRAGMENTS),
                  "using": st.sampled_from(["btree", "gin", "hash", "gist", "brin", "bogus"]),
                  "name": st.sampled_from(NAMES)})


@st.composite
def _table(draw: st.DrawFn) -> dict[str, Any]:
    columns = draw(st.dictionaries(st.sampled_from(NAMES), _column(), min_size=1, max_size=5))
    table: dict[str, Any] = {"columns": columns}
    if draw(st.booleans()):
        table["indexes"] = draw(st.lists(_index(list(columns)), max_size=2))
    if draw(st.booleans()):
        table["checks"] = draw(st.dictionaries(st.sampled_from(NAMES), st.sampled_from(FRAGMENTS),
                                               max_size=2))
    if draw(st.integers(0, 5)) == 0:
        table["comment"] = draw(st.sampled_from(NAMES))
    return table


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A schema document as YAML text (structured; not mutated)."""
    doc: dict[str, Any] = {}
    if draw(st.booleans()):
        doc["enums"] = {"mood": draw(st.lists(st.sampled_from(["happy", "sad", "", "it's"]),
                                              min_size=0, max_size=3))}
    if draw(st.integers(0, 6)) == 0:
        doc["extensions"] = draw(st.lists(st.sampled_from(["citext", "btree_gist", "nosuch"]),
                                          max_size=2))
    doc["tables"] = draw(st.dictionaries(st.sampled_from(NAMES), _table(), min_size=1,
                                         max_size=3))
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=1000)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A generated document with a few text mutations: YAML syntax, anchors, merge keys,
    tags, control characters and lone surrogates spliced in anywhere."""
    text = draw(documents())
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "duplicate_line"]))
        if op == "insert":
            text = text[:where] + draw(st.sampled_from(HOSTILE)) + text[where:]
        elif op == "delete":
            text = text[:where] + text[where + draw(st.integers(1, 8)):]
        else:
            lines = text.splitlines(keepends=True) or [""]
            i = draw(st.integers(0, len(lines) - 1))
            text = "".join(lines[:i + 1] + lines[i:])
    return text


def validate_property(text: str) -> SchemaSpec | None:
    """validate either accepts (the spec) or refuses with located diagnostics (None)."""
    try:
        return validate([load_text(text, FILE)])
    except SpecError as exc:
        assert exc.diagnostics, "a SpecError without diagnostics"
        for d in exc.diagnostics:
            assert d.file == FILE and d.line and d.column, f"no location: {d}"
        return None


def plan_refusal_is_located(exc: SpecError, file: str) -> None:
    for d in exc.diagnostics:
        assert d.file == file and d.line and d.column, f"plan refused without a location: {d}"


# Valid but unusual: what plan must take from validate without a murmur.
PLAIN_NAMES = ["t", "users", "a", "b", "user", "select", "Mixed", "a b", "é", "a\nb",
               'q"uote', "it's", "n" * 63, "1", "order", "%(x)s", ":p"]
FITTING: dict[str, list[Any]] = {
    "int": [0, -1, 2147483647], "bigint": [2**40, -(2**63)], "smallint": [7],
    "text": ["", "it's", "a\nb", "%s", ":x", "'); drop table t; --", "é\u2028"],
    "varchar(10)": ["x", "0123456789"], "numeric(5,2)": [123.45, -0.5, 0],
    "numeric": [2**70, 1.5, float("nan")], "real": [1.5, float("inf")],
    "boolean": [True, False], "date": ["2024-02-29", "epoch", "infinity"],
    "timestamptz": ["2024-02-29 12:00:00+02", "-infinity"], "timestamp": ["2024-02-29 12:00"],
    "time": ["12:30:00", "allballs"], "interval": ["1 day", "P1DT2H", "01:30:00", "2 hours ago"],
    "uuid": ["123e4567-e89b-12d3-a456-426614174000"], "jsonb": [{"a": [1, None]}, [], "s", 2**70],
    "json": [{"b": 1, "a": 2}], "inet": ["10.0.0.1", "::1"], "bytea": ["\\x00ff", "abc"],
    "text[]": [[], ["a", None, "b c"]], "int[]": [[1, 2]],
}
PLAIN_FRAGMENTS = {"int": ["1", "42 * 2", "length('x')"], "text": ["'x'", "current_user",
                                                                   "md5('a')", "'a;b'"],
                   "timestamptz": ["now()", "now() - interval '1 day'"], "date": ["current_date"],
                   "uuid": ["gen_random_uuid()"], "jsonb": ["'{}'::jsonb"]}


@st.composite
def _plain_column(draw: st.DrawFn) -> dict[str, Any]:
    type_ = draw(st.sampled_from(sorted(FITTING)))
    column: dict[str, Any] = {"type": type_}
    source = draw(st.sampled_from(["none", "default", "default_sql", "nullable", "identity"]))
    if source == "default":
        column["default"] = draw(st.sampled_from(FITTING[type_]))
    elif source == "default_sql" and type_ in PLAIN_FRAGMENTS:
        column["default_sql"] = draw(st.sampled_from(PLAIN_FRAGMENTS[type_]))
    elif source == "identity" and type_ in ("int", "bigint", "smallint"):
        column["identity"] = draw(st.sampled_from([True, "always"]))
    elif source == "nullable":
        column["nullable"] = True
    if draw(st.integers(0, 4)) == 0:
        column["comment"] = draw(st.sampled_from(PLAIN_NAMES))
    return column


@st.composite
def plannable_documents(draw: st.DrawFn) -> str:
    """Valid documents with unusual names, values and fragments (most pass validate)."""
    tables: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(PLAIN_NAMES), min_size=1, max_size=3, unique=True)):
        columns = draw(st.dictionaries(st.sampled_from(PLAIN_NAMES), _plain_column(),
                                       min_size=1, max_size=5))
        table: dict[str, Any] = {"columns": columns}
        names = list(columns)
        if draw(st.booleans()):
            key = draw(st.sampled_from(names))
            table["indexes"] = [{"columns": [key]}]
            if columns[key]["type"] == "text":
                table["indexes"].append({"columns": [{"expression": f'"{key}" || \'x\''}]})
        tables[name] = table
    return yaml.safe_dump({"tables": tables}, allow_unicode=True, sort_keys=False, width=1000)
