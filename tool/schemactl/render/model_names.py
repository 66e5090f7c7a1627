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

# The Python type of each column type's values, as psycopg 3 and SQLAlchemy's postgresql types
# return them (arrays wrap them in list[...]). Which SQLAlchemy type each column gets is
# compile.py's business (column_type); this table is the Python side only, and it has an entry
# for every type of spec/typenames.py (a test holds it to that).
_STR_TYPES = (
    "text", "varchar", "char", "citext", "bit", "varbit", "money", "xml", "tsvector", "tsquery",
    "macaddr", "macaddr8", "point", "line", "lseg", "box", "path", "polygon", "circle", "pg_lsn",
    "txid_snapshot", "pg_snapshot", "name", "regclass", "regtype", "regproc", "regprocedure",
    "regconfig", "regnamespace", "regrole", "xid", "xid8", "ltree", "lquery", "ltxtquery", "cube",
    "seg", "isbn", "ean13", "vector", "halfvec", "sparsevec",
)
_RANGE_VALUES = {"int4": "int", "int8": "int", "num": "decimal.Decimal", "ts": "datetime.datetime",
                 "tstz": "datetime.datetime", "date": "datetime.date"}
PYTHON_TYPES: dict[str, str] = {
    **dict.fromkeys(("smallint", "integer", "bigint", "oid"), "int"),
    "numeric": "decimal.Decimal",
    "real": "float",
    "double precision": "float",
    "boolean": "bool",
    # money comes back as text in the server's locale ('$12.34'); bit strings as '0101'.
    **dict.fromkeys(_STR_TYPES, "str"),
    "date": "datetime.date",
    "time": "datetime.time",
    "timetz": "datetime.time",
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
    "hstore": "dict[str, str | None]",
    **{f"{k}range": f"postgresql.Range[{v}]" for k, v in _RANGE_VALUES.items()},
    # A multirange reads back as a MultiRange, a list of its ranges.
    **{f"{k}multirange": f"list[postgresql.Range[{v}]]" for k, v in _RANGE_VALUES.items()},
}

# Type aliases a module defines when a column uses them (what psycopg returns for each type).
NETWORK_ALIASES: dict[str, str] = {
    "IPAddress": "ipaddress.IPv4Address | ipaddress.IPv6Address | ipaddress.IPv4Interface"
                 " | ipaddress.IPv6Interface",
    "IPNetwork": "ipaddress.IPv4Network | ipaddress.IPv6Network",
}

# Names the generated modules define or import at the top level; a class must not shadow them.
MODULE_NAMES = frozenset({
    "Any", "Base", "BaseModel", "ConfigDict", "DeclarativeBase", "ExtensionArray", "Field",
    "IPAddress", "IPNetwork",
    "Literal", "Mapped", "PgType", "annotations", "datetime", "decimal", "ipaddress",
    "mapped_column", "postgresql", "relationship", "sa", "uuid",
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

# Plurals no suffix rule gets right (last word of a table name, lower case).
IRREGULAR_PLURALS: dict[str, str] = {
    "people": "person", "children": "child", "men": "man", "women": "woman", "mice": "mouse",
    "geese": "goose", "feet": "foot", "teeth": "tooth", "oxen": "ox", "criteria": "criterion",
    "phenomena": "phenomenon", "indices": "index", "matrices": "matrix", "vertices": "vertex",
    "analyses": "analysis", "crises": "crisis", "theses": "thesis", "hypotheses": "hypothesis",
    "diagnoses": "diagnosis", "synopses": "synopsis", "parentheses": "parenthesis",
    "heroes": "hero", "potatoes": "potato", "tomatoes": "tomato", "echoes": "echo",
    "caches": "cache", "niches": "niche", "movies": "movie", "cookies": "cookie",
    "zombies": "zombie", "calories": "calorie", "excuses": "excuse", "fuses": "fuse",
    "refuses": "refuse", "abuses": "abuse", "uses": "use", "muses": "muse",
}
# Words that are their own plural, or not plurals at all.
UNCHANGED = frozenset({"data", "media", "news", "series", "species", "metadata", "info",
                       "equipment", "sheep", "fish", "deer", "aircraft", "software"})


def singular(word: str) -> str:
    """The English singular of a table name's last word: users -> user, categories ->
    category, addresses -> address, statuses -> status, boxes -> box, branches -> branch,
    blog_people -> blog_person. Deterministic: a fixed list of irregulars, then suffix rules."""
    humps = [i for i in range(1, len(word)) if word[i].isupper() and word[i - 1].islower()]
    split = max(word.rfind("_"), max(humps, default=-1))
    head, last = (word[:split], word[split:]) if split > 0 else ("", word)
    prefix = last[0] if last[0] == "_" else ""
    last = last[len(prefix):]
    one = _singular_word(last.lower())
    if last.isupper() and len(last) > 1:
        one = one.upper()
    elif last[:1].isupper():
        one = one[:1].upper() + one[1:]
    return head + prefix + one


def _singular_word(word: str) -> str:
    if word in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[word]
    if word in UNCHANGED or len(word) < 3 or not word.endswith("s"):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"  # categories, companies
    if word.endswith("zzes"):
        return word[:-3]  # quizzes
    if word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]  # addresses, wishes, branches, boxes
    if re.search(r"[^aeiou]uses$", word):
        return word[:-2]  # statuses, buses, bonuses (but causes, houses below)
    if word.endswith(("ss", "us", "is")):
        return word  # status, class, analysis: already singular
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

def model_names(spec: SchemaSpec) -> ModelNames:
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
