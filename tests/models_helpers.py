"""Helpers for the generated-models tests: import a generated module, build a database with it,
and put one row per table through the ORM (relationships included), then read it back."""

from __future__ import annotations

import datetime
import decimal
import importlib.util
import ipaddress
import itertools
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import Range
from sqlalchemy.engine import URL
from sqlalchemy.orm import Mapper, RelationshipDirection, Session

from schemactl.compile import INFO_AFTER_CREATE
from schemactl.spec.types import SchemaSpec, TableSpec, TypeRef

_counter = itertools.count()


@contextmanager
def imported(source: str, directory: Path) -> Iterator[ModuleType]:
    """The generated source as an imported module (registered in sys.modules while in use:
    SQLAlchemy resolves the string annotations through it)."""
    name = f"generated_models_{next(_counter)}"
    path = directory / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[name]


def create_with_models(url: URL, spec: SchemaSpec, metadata: sa.MetaData) -> None:
    """What create_all cannot do (CREATE SCHEMA, CREATE EXTENSION) done first, as an
    application's start-up would; then create_all."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        for schema in spec.schemas:
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        for ext in spec.extensions:
            where = f' SCHEMA "{ext.schema}"' if ext.schema else ""
            version = f" VERSION '{ext.version}'" if ext.version else ""
            conn.exec_driver_sql(f'CREATE EXTENSION IF NOT EXISTS "{ext.name}"{where}{version}')
        metadata.create_all(conn)
        # compile's MetaData leaves column compression and storage to statements run after
        # it (as apply does); generated models run the same ones from after_create events.
        for statement in metadata.info.get(INFO_AFTER_CREATE, []):
            conn.exec_driver_sql(statement)
    engine.dispose()


# --- sample values ----------------------------------------------------------------------------

_VALUES: dict[str, Any] = {
    "smallint": 7,
    "integer": 42,
    "bigint": 5_000_000_000,
    "numeric": decimal.Decimal("3"),
    "real": 1.5,
    "double precision": 2.25,
    "boolean": True,
    "text": "some text",
    "citext": "Mixed Case",
    "date": datetime.date(2024, 2, 29),
    "time": datetime.time(7, 30),
    "timestamp": datetime.datetime(2024, 2, 29, 12, 0),
    "timestamptz": datetime.datetime(2024, 2, 29, 12, 0, tzinfo=datetime.UTC),
    "interval": datetime.timedelta(days=1, hours=2),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "json": {"a": [1, "x"], "b": None},
    "jsonb": {"a": [1, "x"], "b": None},
    "bytea": b"\x00\x01\xff",
    "inet": ipaddress.ip_address("10.1.2.3"),
    "cidr": ipaddress.ip_network("10.0.0.0/8"),
    "timetz": datetime.time(7, 30, tzinfo=datetime.UTC),
    # Text types come back as written when written in PostgreSQL's own output form.
    "money": "$12.34",
    "xml": "<a>1</a>",
    "tsvector": "'a' 'b'",
    "tsquery": "'a' & 'b'",
    "macaddr": "08:00:2b:01:02:03",
    "macaddr8": "08:00:2b:01:02:03:04:05",
    "point": "(1,2)",
    "line": "{1,2,3}",
    "lseg": "[(1,2),(3,4)]",
    "box": "(3,4),(1,2)",
    "path": "((1,2),(3,4))",
    "polygon": "((1,2),(3,4),(5,6))",
    "circle": "<(1,2),3>",
    "pg_lsn": "16/B374D848",
    "name": "nm",
    "oid": 5,
    "regclass": "pg_class",
    "regconfig": "english",
    "int4range": Range(1, 5),
    "int8range": Range(1, 5_000_000_000),
    "numrange": Range(decimal.Decimal("1.5"), decimal.Decimal("2")),
    "tsrange": Range(datetime.datetime(2024, 1, 1), datetime.datetime(2024, 2, 1)),
    "tstzrange": Range(datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
                       datetime.datetime(2024, 2, 1, tzinfo=datetime.UTC)),
    "daterange": Range(datetime.date(2024, 1, 1), datetime.date(2024, 2, 1)),
    "hstore": {"a": "1", "b": None},
    "txid_snapshot": "10:20:10,14,15",
    "pg_snapshot": "10:20:10,14,15",
    "regtype": "integer",
    "regnamespace": "public",
    "regrole": "postgres",
    "xid": "5",
    "xid8": "5",
    "ltree": "a.b.c",
    "cube": "(1, 2)",
    "seg": "1 .. 2",
    "isbn": "0-393-04002-X",
}
# A multirange of the range's sample (a list of ranges).
_VALUES |= {name.replace("range", "multirange"): [value] for name, value in list(_VALUES.items())
            if name.endswith("range")}


def sample(ref: TypeRef, spec: SchemaSpec, seed: int) -> Any:
    if ref.enum_schema is not None:
        enum = spec.enum(ref.enum_schema, ref.name)
        assert enum is not None
        value: Any = enum.labels[-1]
    elif ref.name in ("varchar", "char"):
        length = ref.args[0] if ref.args else 10
        value = (f"v{seed}" * length)[:length]
    elif ref.name == "interval" and ref.fields in ("year", "month", "year to month"):
        # A timedelta has no months: only zero survives an interval of years and months.
        value = datetime.timedelta(0)
    elif ref.name == "interval" and ref.fields == "day":
        value = datetime.timedelta(days=1)
    elif ref.name in ("bit", "varbit"):
        length = ref.args[0] if ref.args else (1 if ref.name == "bit" else 4)
        value = ("10" * length)[:length if ref.name == "bit" else min(length, 4)]
    elif ref.name in ("integer", "smallint", "bigint"):
        value = _VALUES[ref.name] + seed
    else:
        value = _VALUES[ref.name]
    for _ in range(ref.array_dims):
        value = [value]
    return value


# --- one row per table through the ORM ----------------------------------------------------------

@dataclass
class Filled:
    objects: dict[type, Any] = field(default_factory=dict)
    values: dict[type, dict[str, Any]] = field(default_factory=dict)
    links: list[tuple[type, str, type]] = field(default_factory=list)  # (child, attribute, parent)
    skipped: list[str] = field(default_factory=list)


def _table_of(spec: SchemaSpec, mapper: Mapper[Any]) -> TableSpec:
    table = mapper.local_table
    found = spec.table(getattr(table, "schema", None) or "public", getattr(table, "name", ""))
    assert found is not None
    return found


def _required_parents(mapper: Mapper[Any]) -> set[type]:
    return {rel.mapper.class_ for rel in mapper.relationships
            if rel.direction is RelationshipDirection.MANYTOONE
            and any(not c.nullable for c in rel.local_columns)}


def insert_one_row_each(session: Session, module: ModuleType, spec: SchemaSpec) -> Filled:
    """One object per class, parents set through the many-to-one relationships. What cannot get
    a row is skipped and listed with why: a class whose NOT NULL keys go round in a cycle (no
    first row without deferred constraints), one whose CHECK refuses the sample values, and
    what needs those."""
    mappers = sorted(module.Base.registry.mappers, key=lambda m: m.class_.__name__)
    filled = Filled()
    placed: list[Mapper[Any]] = []
    progress = True
    while progress:
        progress = False
        for mapper in mappers:
            if mapper not in placed and _required_parents(mapper) <= {m.class_ for m in placed}:
                placed.append(mapper)
                progress = True
    filled.skipped = sorted(f"{m.class_.__name__} (key cycle)" for m in mappers if m not in placed)
    for seed, mapper in enumerate(placed):
        missing = [p.__name__ for p in _required_parents(mapper) if p not in filled.objects]
        if missing:
            filled.skipped.append(f"{mapper.class_.__name__} (needs {', '.join(sorted(missing))})")
            continue
        savepoint = session.begin_nested()
        try:
            _make(session, mapper, _table_of(spec, mapper), spec, seed, filled)
            savepoint.commit()
        except sa.exc.IntegrityError as exc:
            # A CHECK that a generic sample value cannot know about (e.g. kind IN ('a', 'b')).
            savepoint.rollback()
            constraint = getattr(exc.orig, "diag", None)
            if "no partition of relation" in str(exc.orig):  # a partitioned table's bounds
                filled.skipped.append(f"{mapper.class_.__name__} (no partition for the sample)")
                continue
            name = getattr(constraint, "constraint_name", None) or "?"
            filled.skipped.append(f"{mapper.class_.__name__} (check {name})")
    session.commit()
    return filled


def _make(session: Session, mapper: Mapper[Any], table: TableSpec, spec: SchemaSpec, seed: int,
          filled: Filled) -> None:
    cls = mapper.class_
    obj = cls()
    fk_columns = {c for fk in table.foreign_keys for c in fk.columns}
    values = {}
    for attr in mapper.column_attrs:
        column = table.column(attr.columns[0].name)
        assert column is not None
        if column.identity or column.generated or column.name in fk_columns:
            continue
        values[attr.key] = sample(column.type, spec, seed)
        setattr(obj, attr.key, values[attr.key])
    links = []
    for rel in mapper.relationships:
        parent = filled.objects.get(rel.mapper.class_)
        if rel.direction is RelationshipDirection.MANYTOONE and parent is not None:
            setattr(obj, rel.key, parent)
            links.append((cls, rel.key, rel.mapper.class_))
    session.add(obj)
    try:
        session.flush()
    except sa.exc.IntegrityError:
        for _, key, _ in links:  # out of the parents' collections, or it is flushed again
            setattr(obj, key, None)
        raise
    filled.objects[cls] = obj
    filled.values[cls] = values
    filled.links += links


def read_back(session: Session, module: ModuleType, filled: Filled) -> None:
    """Every row read in a new session has the values it was given, and every relationship
    leads to the parent object (and back)."""
    identities = {cls: sa.inspect(obj).identity for cls, obj in filled.objects.items()}
    session.expunge_all()
    for cls, values in filled.values.items():
        row = session.get(cls, identities[cls])
        assert row is not None, cls.__name__
        for key, expected in values.items():
            assert getattr(row, key) == expected, f"{cls.__name__}.{key}"
    for child_cls, attribute, parent_cls in filled.links:
        child = session.get(child_cls, identities[child_cls])
        parent = getattr(child, attribute)
        assert sa.inspect(parent).identity == identities[parent_cls], f"{child_cls.__name__}.{attribute}"
        rel = sa.inspect(child_cls).relationships[attribute]
        back = getattr(parent, rel.back_populates)
        assert child in (back if isinstance(back, list) else [back])


def read_through_pydantic(session: Session, schemas: ModuleType, filled: Filled) -> None:
    """Each row, read again, validates as its pydantic `<Class>Read` model with the same
    values: the two generated modules agree on every column's Python type."""
    session.expunge_all()
    for cls, values in filled.values.items():
        row = session.get(cls, sa.inspect(filled.objects[cls]).identity)
        read = getattr(schemas, f"{cls.__name__}Read").model_validate(row)
        fields = {f.serialization_alias or name: name for name, f in type(read).model_fields.items()}
        columns = sa.inspect(cls).column_attrs
        for key, expected in values.items():
            column = columns[key].columns[0].name  # the Read field written under its name
            assert getattr(read, fields[column]) == expected, f"{cls.__name__}Read[{column!r}]"
