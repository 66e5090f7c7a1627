"""Generate pydantic models for an API layer: SchemaSpec -> the Python source of a module.

Per table, `<Class>Read` has every column with the same Python types and nullability as the
SQLAlchemy models (and reads them: from_attributes), and `<Class>Create` the columns a client
sends: no identity or generated columns; a column with a database default may be left out.
Text lengths and numeric precision become field constraints. Deterministic, like models.py.
"""

from __future__ import annotations

from schemactl.render.model_names import (
    MODULE_NAMES,
    ModelNames,
    model_names,
    optional,
    python_type,
)
from schemactl.render.models import (
    INDENT,
    call,
    docstring,
    header,
    module_text,
    py,
    type_aliases,
    typing_imports,
)
from schemactl.spec.types import ColumnSpec, SchemaSpec, TableSpec


def _constraints(column: ColumnSpec) -> list[str]:
    ref = column.type
    if ref.array_dims or ref.is_enum or not ref.args:
        return []
    if ref.name in ("varchar", "char"):
        return [f"max_length={ref.args[0]}"]
    if ref.name == "numeric":
        digits = [f"max_digits={ref.args[0]}"]
        return digits + [f"decimal_places={ref.args[1] if len(ref.args) > 1 else 0}"]
    return []


def _field(table: TableSpec, column: ColumnSpec, names: ModelNames, create: bool) -> str:
    orm_attribute = names.attr(table, column.name)
    # A field named `uuid` would hide the module in its own annotation (`uuid.UUID`).
    attribute = orm_attribute + "_" if orm_attribute in MODULE_NAMES else orm_attribute
    has_default = (column.default is not None or column.default_sql is not None)
    # Leaving out a column with a database default (or a nullable one) is fine on create.
    may_omit = create and (has_default or column.nullable)
    annotation = optional(python_type(column.type, names), column.nullable or may_omit)
    args = _constraints(column)
    if create and attribute != column.name:
        args.append(f"alias={py(column.name)}")
    elif not create:
        # Read from the ORM object's attribute; written out under the column's name.
        if attribute != orm_attribute:
            args.append(f"validation_alias={py(orm_attribute)}")
        if attribute != column.name:
            args.append(f"serialization_alias={py(column.name)}")
    if column.comment is not None:
        args.append(f"description={py(column.comment)}")
    if may_omit and args:
        args.insert(0, "default=None")
    if not args:
        return f"{INDENT}{attribute}: {annotation}" + (" = None" if may_omit else "")
    return call("Field", args, INDENT, f"{attribute}: {annotation} = ")


def _uses_ranges(spec: SchemaSpec, names: ModelNames) -> bool:
    return any("postgresql.Range" in python_type(c.type, names) for t in spec.tables for c in t.columns)


def _class(table: TableSpec, names: ModelNames, create: bool) -> list[str]:
    name = names.cls(table) + ("Create" if create else "Read")
    what = "sent to create a row in" if create else "of a row of"
    lines = [f"class {name}(BaseModel):",
             INDENT + docstring(f"The columns {what} {table.qualified_name}."), ""]
    config = "populate_by_name=True" if create else "from_attributes=True"
    if any("postgresql.Range" in python_type(c.type, names) for c in table.columns):
        config += ", arbitrary_types_allowed=True"  # SQLAlchemy's Range is no pydantic type
    lines.append(f"{INDENT}model_config = ConfigDict({config})")
    lines.append("")
    columns = [c for c in table.columns if not (create and (c.identity or c.generated))]
    lines += [_field(table, c, names, create) for c in columns]
    return lines


def render_pydantic(spec: SchemaSpec) -> str:
    """The source of a module with a Read and a Create pydantic model per table of spec."""
    names = model_names(spec)
    classes = [_class(t, names, create) for t in spec.tables for create in (False, True)]
    uses_field = any("Field(" in line for c in classes for line in c)
    imports = typing_imports(spec, names) + [
        f"from pydantic import BaseModel, ConfigDict{', Field' if uses_field else ''}"]
    if _uses_ranges(spec, names):
        imports.append("from sqlalchemy.dialects import postgresql")
    aliases = type_aliases(spec, names)
    if aliases:  # isort wants one blank line between the imports and an assignment
        imports += ["", *aliases]
    return module_text(header(spec, "Pydantic models", "schemactl models --pydantic"),
                       [imports, *classes])
