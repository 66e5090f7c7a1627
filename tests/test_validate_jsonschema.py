"""The shipped JSON Schema (editor support) agrees with what validate accepts."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from schemactl.cli import main
from schemactl.spec import routines
from schemactl.spec import validate as v
from schemactl.spec.validate import load_schema

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
VALID_FILES = sorted(
    [REPO / "schema" / "blog.yaml", *(DATA / "valid").rglob("*.yaml"), *(DATA / "full").glob("*.yaml")]
)
# Invalid by shape (not only by meaning): the JSON Schema must refuse these too.
SHAPE_ERRORS = ["unknown_keys.yaml", "wrong_value_types.yaml", "not_a_mapping.yaml",
                "missing_required.yaml", "bad_choices.yaml"]  # fmt: skip


def json_schema() -> dict[str, Any]:
    text = resources.files("schemactl").joinpath("schema.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


def properties(definition: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    """Property names of a definition (following $ref and the mapping branch of oneOf)."""
    if "$ref" in definition:
        return properties(schema["$defs"][definition["$ref"].rsplit("/", 1)[-1]], schema)
    for branch in definition.get("oneOf", []):
        if branch.get("type") == "object":
            return set(branch["properties"])
    return set(definition.get("properties", {}))


def test_json_schema_is_a_valid_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json_schema())


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_valid_files_pass_validate_and_the_json_schema(path: Path) -> None:
    load_schema(path.parent)  # the directory: some files need their siblings
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    jsonschema.validate(document, json_schema())


@pytest.mark.parametrize("name", SHAPE_ERRORS)
def test_json_schema_refuses_wrong_shapes(name: str) -> None:
    document = yaml.safe_load((DATA / "invalid" / name).read_text(encoding="utf-8"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, json_schema())


@pytest.mark.parametrize(
    ("definition", "keys"),
    [
        ("#", v.TOP_KEYS),
        ("extension", v.EXTENSION_KEYS),
        ("enum", v.ENUM_KEYS),
        ("enumValue", v.ENUM_VALUE_KEYS),
        ("table", v.TABLE_KEYS),
        ("column", v.COLUMN_KEYS),
        ("primaryKey", v.PRIMARY_KEY_KEYS),
        ("unique", v.UNIQUE_KEYS),
        ("foreignKey", v.FOREIGN_KEY_KEYS),
        ("references", v.REFERENCES_KEYS),
        ("index", v.INDEX_KEYS),
        ("indexElement", v.INDEX_ELEMENT_KEYS),
        ("function", routines.FUNCTION_KEYS),
        ("procedure", routines.PROCEDURE_KEYS),
        ("argument", routines.ARGUMENT_KEYS),
        ("view", routines.VIEW_KEYS),
        ("materializedView", routines.MATERIALIZED_VIEW_KEYS),
        ("viewIndex", routines.MV_INDEX_KEYS),
        ("trigger", routines.TRIGGER_KEYS),
        ("exclusion", v.EXCLUSION_KEYS),
        ("exclusionElement", v.EXCLUSION_ELEMENT_KEYS),
    ],
)
def test_json_schema_keys_match_validate(definition: str, keys: tuple[str, ...]) -> None:
    schema = json_schema()
    node = schema if definition == "#" else schema["$defs"][definition]
    assert properties(node, schema) == set(keys)


def test_schema_json_command_prints_the_schema() -> None:
    result = CliRunner().invoke(main, ["schema-json"])
    assert result.exit_code == 0
    assert json.loads(result.output) == json_schema()
