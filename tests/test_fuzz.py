"""Property-based fuzzing of validate and plan with generated and mutated YAML (Hypothesis).

A bounded number of examples runs in CI (derandomized, so a failure reproduces);
bench/fuzz.py runs as many as asked. The strategies and properties: tests/fuzz_yaml.py.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from sqlalchemy.engine import URL

from schemactl.errors import SpecError
from schemactl.pipeline import make_plan

from .fuzz_yaml import documents, mutated, plan_refusal_is_located, plannable_documents, validate_property
from .helpers import make_project, settings_for

VALIDATE_EXAMPLES = 400
PLAN_EXAMPLES = 8


def _ci(examples: int) -> settings:
    return settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


@_ci(VALIDATE_EXAMPLES)
@given(text=mutated())
def test_validate_never_escapes_and_always_locates(text: str) -> None:
    validate_property(text)


@_ci(VALIDATE_EXAMPLES)
@given(text=documents())
def test_validate_on_generated_documents(text: str) -> None:
    validate_property(text)


@_ci(PLAN_EXAMPLES)
@given(text=plannable_documents())
def test_plan_accepts_what_validate_accepts_or_locates(text: str, tmp_path: Path,
                                                       server_url: URL) -> None:
    if validate_property(text) is None:
        return
    project = make_project(tmp_path / "app", text)
    try:
        make_plan(project, settings_for(server_url))
    except SpecError as exc:
        plan_refusal_is_located(exc, "schema/app.yaml")
