"""The Python side of a schema: SchemaSpec -> ModelNames (class, attribute, relationship names
and Python types), shared by the SQLAlchemy and the pydantic model generators.

Every name is chosen deterministically from the spec alone, so the same YAML always gives the
same module. Defaults follow the usual ORM habits (table `users` -> class `User`; foreign key
column `user_id` -> `Post.user`, and `User.posts` back); a foreign key's `relationship:` key in
the YAML renames the pair. A name the user chose that clashes is an error, never renamed.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field

from schemactl.errors import SchemactlError
from schemactl.spec.types import DEFAULT_SCHEMA, EnumSpec, ForeignKeySpec, SchemaSpec, TableSpec, TypeRef

# Python types of the built-in column types (arrays wrap them in list[...]).
PYTHON_TYPES: dict[str, str] = {
    "smallint": "int",
    "integer": "int",
    "bigint": "int",
    "numeric": "decimal.Decimal",
    "real": "float",
    "double precision": "float",
    "boolean": "bool",
    "text": "str",
    "varchar": "str",
    "char": "str",
    "citext": "str",
    "date": "datetime.date",
    "time": "datetime.time",
    "timestamp": "datetime.datetime",
    "timestamptz": "datetime.datetime",
    "interval": "datetime.timedelta",
    "uuid": "uuid.UUID",
    # Any JSON value: object, array, string, number, boolean or null.
    "json": "Any",
    "jsonb": "Any",
    "bytea": "bytes",
    # psycopg returns ipaddress objects; see NETWORK_ALIASES.
    "inet": "IPAddress",
    "cidr": "IPNetwork",
}

# Type aliases a module defines when a column uses them (what psycopg returns for each type).
NETWORK_ALIASES: dict[str, str] = {
    "IPAddress": "ipaddress.IPv4Address | ipaddress.IPv6Address | ipaddress.IPv4Interface"
                 " | ipaddress.IPv6Interface",
    "IPNetwork": "ipaddress.IPv4Network | ipaddress.IPv6Network",
}

# Names the generated modules define or import at the top level; a class must not shadow them.
MODULE_NAMES = frozenset({
    "Any", "Base", "BaseModel", "ConfigDict", "DeclarativeBase", "Field", "IPAddress", "IPNetwork",
    "Literal", "Mapped", "annotations", "datetime", "decimal", "ipaddress", "mapped_column",
    "postgresql", "relationship", "sa", "uuid",
})
# Attributes a declarative class already has.
RESERVED_ATTRIBUTES = frozenset({"metadata", "registry", "model_config", "model_fields"})


@dataclass(frozen=True)
class Relationship:
    """One side of a relationship() pair, on the class of `owner`."""

    attribute: str
    target: str  # class name of the other side
    back_populates: str
    many: bool  # a list (the parent side of a one-to-many)
    optional: bool  # a scalar that may be None
    fk: ForeignKeySpec
    child: TableSpec  # the table that holds the foreign key
    parent: TableSpec  # the table it references
    child_side: bool


@dataclass
class ModelNames:
    classes: dict[tuple[str, str], str] = field(default_factory=dict)  # (schema, table) -> class
    enum_aliases: dict[tuple[str, str], str] = field(default_factory=dict)  # Literal alias
    enum_constants: dict[tuple[str, str], str] = field(default_factory=dict)  # shared ENUM object
    attributes: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # column -> attr
    relationships: dict[tuple[str, str], list[Relationship]] = field(default_factory=dict)

    def cls(self, table: TableSpec) -> str:
        return self.classes[(table.schema, table.name)]

    def attr(self, table: TableSpec, column: str) -> str:
        return self.attributes[(table.schema, table.name)][column]


# --- spelling ---------------------------------------------------------------------------------

def singular(word: str) -> str:
    """A plain English singular, good enough for table names: users -> user, categories ->
    category, addresses -> address, status -> status."""
    lower = word.lower()
    if lower.endswith("ies") and len(word) > 3:
        return word[:-3] + ("Y" if word[-3].isupper() else "y")
    if lower.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if lower.endswith(("ss", "us", "is")) or not lower.endswith("s") or len(word) < 3:
        return word
    return word[:-1]


def identifier(text: str) -> str:
    """text as a Python identifier: other characters become _, a leading digit gets a prefix."""
    ident = re.sub(r"\W", "_", text)
    if not ident or ident[0].isdigit():
        ident = "x_" + ident
    return ident + "_" if keyword.iskeyword(ident) or keyword.issoftkeyword(ident) else ident


def camel(text: str) -> str:
    """users_table -> UsersTable; already CamelCase stays as it is."""
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", text) if p]
    name = "".join(p[0].upper() + p[1:] for p in parts) or "X"
    return identifier(name)


def _take(taken: set[str], candidates: list[str]) -> str:
    """The first candidate not taken yet; else the last one numbered (Post2, Post3, ...)."""
    for name in candidates:
        if name not in taken:
            taken.add(name)
            return name
    n = 2
    while f"{candidates[-1]}{n}" in taken:
        n += 1
    taken.add(f"{candidates[-1]}{n}")
    return f"{candidates[-1]}{n}"


# --- types ----------------------------------------------------------------------------------------

def python_type(ref: TypeRef, names: ModelNames) -> str:
    """The Python annotation of a column's value (without Optional)."""
    if ref.enum_schema is not None:
        base = names.enum_aliases[(ref.enum_schema, ref.name)]
    else:
        base = PYTHON_TYPES[ref.name]
    for _ in range(ref.array_dims):
        base = f"list[{base}]"
    return base


def optional(annotation: str, nullable: bool) -> str:
    return f"{annotation} | None" if nullable else annotation


# --- the names of one schema ----------------------------------------------------------------

class NotInModels(SchemactlError):
    """The spec uses what the generated models cannot say yet: refused, never dropped."""


def not_in_models(spec: SchemaSpec) -> list[str]:
    """What of the spec the generated models cannot express yet (object: what), in order."""
    found = []
    for t in spec.tables:
        where = t.qualified_name
        found += [f"table {where}: {what}" for what, used in (
            ("unlogged", t.unlogged), ("storage parameters (with:)", bool(t.storage)),
            ("exclusion constraints", bool(t.exclusions)),
            ("a deferrable primary key", bool(t.primary_key and t.primary_key.deferrable)),
            ("unique keys with nulls_not_distinct or deferrable",
             any(u.nulls_not_distinct or u.deferrable for u in t.uniques)),
            ("index options (order, nulls, opclass, collation, with:, nulls_not_distinct)",
             any(i.storage or i.nulls_not_distinct or any(e.has_options for e in i.elements)
                 for i in t.indexes))) if used]
        for c in t.columns:
            ref = c.type
            if not ref.is_enum and (ref.name not in PYTHON_TYPES or ref.type_schema
                                    or ref.fields or (ref.args and ref.name in _TIME_TYPES)):
                found.append(f"table {where}, column {c.name}: type {ref.sql()}")
            if c.collation or c.compression or c.storage:
                found.append(f"table {where}, column {c.name}: collation, compression or storage")
    return found


_TIME_TYPES = ("time", "timestamp", "timestamptz", "interval")


def model_names(spec: SchemaSpec) -> ModelNames:
    missing = not_in_models(spec)
    if missing:
        raise NotInModels(
            "the generated models cannot express yet: " + "; ".join(missing[:5])
            + (f"; and {len(missing) - 5} more" if len(missing) > 5 else ""),
            hint="keep the models by hand for these tables, or leave them out of [tool.schemactl]")
    names = ModelNames()
    taken = set(MODULE_NAMES)
    _class_names(spec, names, taken)
    _enum_names(spec.enums, names, taken)
    for table in spec.tables:
        names.attributes[(table.schema, table.name)] = _column_attributes(table)
        names.relationships[(table.schema, table.name)] = []
    for table in spec.tables:
        for fk in table.foreign_keys:
            _relationship_pair(spec, table, fk, names)
    return names


def _qualified_candidates(schema: str, base: str, clash: bool) -> list[str]:
    """A name alone when it is unique, else prefixed with its (non-public) schema."""
    if not clash or schema == DEFAULT_SCHEMA:
        return [base, camel(schema) + base]
    return [camel(schema) + base]


def _class_names(spec: SchemaSpec, names: ModelNames, taken: set[str]) -> None:
    bases = [camel(singular(t.name)) for t in spec.tables]
    for table, base in zip(spec.tables, bases, strict=True):
        clash = bases.count(base) > 1
        names.classes[(table.schema, table.name)] = _take(
            taken, _qualified_candidates(table.schema, base, clash))


def _enum_names(enums: tuple[EnumSpec, ...], names: ModelNames, taken: set[str]) -> None:
    bases = [camel(e.name) for e in enums]
    for enum, base in zip(enums, bases, strict=True):
        clash = bases.count(base) > 1
        candidates = _qualified_candidates(enum.schema, base, clash)
        alias = _take(taken, candidates + [c + "Value" for c in candidates])
        names.enum_aliases[(enum.schema, enum.name)] = alias
        prefix = "" if enum.schema == DEFAULT_SCHEMA or not clash else enum.schema + "_"
        constant = identifier(f"{prefix}{enum.name}_enum".upper())
        names.enum_constants[(enum.schema, enum.name)] = _take(taken, [constant])


def _column_attributes(table: TableSpec) -> dict[str, str]:
    taken = set(RESERVED_ATTRIBUTES)
    attributes = {}
    for column in table.columns:
        base = identifier(column.name)
        attributes[column.name] = _take(taken, [base, base + "_"])
    return attributes


def _is_unique(table: TableSpec, columns: tuple[str, ...]) -> bool:
    """Whether the columns are a key of the table (then the parent side is a scalar)."""
    keys = [u.columns for u in table.uniques]
    keys += [tuple(e.column or "" for e in i.elements) for i in table.indexes
             if i.unique and not i.where]
    if table.primary_key:
        keys.append(table.primary_key.columns)
    return any(set(k) == set(columns) for k in keys)


def _relationship_pair(spec: SchemaSpec, child: TableSpec, fk: ForeignKeySpec,
                       names: ModelNames) -> None:
    parent = spec.table(fk.ref_schema, fk.ref_table)
    if parent is None:  # validate guarantees it; a spec from elsewhere may reference beyond it
        return
    child_key, parent_key = (child.schema, child.name), (parent.schema, parent.name)
    one_to_one = _is_unique(child, fk.columns)
    siblings = [f for f in child.foreign_keys
                if (f.ref_schema, f.ref_table) == (fk.ref_schema, fk.ref_table)]
    plain_child = fk.relationship or _default_child_name(fk, parent)
    child_name = identifier(plain_child)
    if fk.back_populates:
        parent_name = fk.back_populates
    else:
        plain = singular(child.name) if one_to_one else child.name
        # Two keys from one table to the same parent: users.author_posts, users.editor_posts.
        parent_name = identifier(f"{plain_child}_{plain}" if len(siblings) > 1 else plain)
    child_attr = _relationship_attribute(names, child, child_key, child_name, fk, fk.relationship)
    # A self-referencing key puts both sides on one class.
    also = {child_attr} if child_key == parent_key else set()
    parent_attr = _relationship_attribute(names, parent, parent_key, parent_name, fk,
                                          fk.back_populates, also)
    nullable = any(c.nullable for c in child.columns if c.name in fk.columns)
    names.relationships[child_key].append(Relationship(
        child_attr, names.cls(parent), parent_attr, many=False, optional=nullable, fk=fk,
        child=child, parent=parent, child_side=True))
    names.relationships[parent_key].append(Relationship(
        parent_attr, names.cls(child), child_attr, many=not one_to_one, optional=one_to_one,
        fk=fk, child=child, parent=parent, child_side=False))


def _default_child_name(fk: ForeignKeySpec, parent: TableSpec) -> str:
    if len(fk.columns) == 1 and fk.columns[0].lower().endswith("_id") and len(fk.columns[0]) > 3:
        return fk.columns[0][:-3]
    return singular(parent.name)


def _relationship_attribute(names: ModelNames, table: TableSpec, key: tuple[str, str], name: str,
                            fk: ForeignKeySpec, chosen: str | None,
                            also: set[str] | None = None) -> str:
    taken = set(RESERVED_ATTRIBUTES) | set(names.attributes[key].values()) | (also or set())
    taken |= {r.attribute for r in names.relationships[key]}
    if chosen is not None and chosen in taken:
        raise SchemactlError(
            f"{fk.mark}: foreign key {fk.name}: relationship name {chosen!r} is already an "
            f"attribute of class {names.cls(table)} (table {table.qualified_name})",
            hint="choose another name in the foreign key's `relationship:`")
    return _take(taken, [name, name + "_rel"])
