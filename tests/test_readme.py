"""The README tells the truth: its YAML validates and it lists exactly the commands that exist."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from schemactl.cli import main
from schemactl.fleet import config
from schemactl.spec.load import load_text
from schemactl.spec.validate import validate

from .helpers import REPO

README = (REPO / "README.md").read_text()


def test_readme_yaml_example_is_valid() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", README, re.DOTALL)
    assert blocks
    for block in blocks:
        if block.startswith("# fleet.yaml"):
            fleet = config.parse(block, Path("fleet.yaml"), {}).get(None)
            assert fleet.databases and fleet.schemas
            continue
        spec = validate([load_text(block, "README.md")])
        assert spec.tables


def test_readme_lists_exactly_the_commands_that_exist() -> None:
    listed = set(re.findall(r"^\| `schemactl ([a-z-]+)", README, re.MULTILINE))
    result = CliRunner().invoke(main, ["--help"])
    section = result.output.split("Commands:")[1]
    existing = set(re.findall(r"^  ([a-z-]+)\s", section, re.MULTILINE))
    assert listed == existing
