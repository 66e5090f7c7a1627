"""Fuzz validate and plan with generated and mutated YAML, more than CI does.

    python bench/fuzz.py [--validate N] [--plan N] [--server URL] [--seed S]

The strategies and properties are the test suite's (tests/fuzz_yaml.py): validate lets no
exception but SpecError escape and locates every diagnostic; plan accepts what validate
accepts or refuses with located diagnostics. Prints how many documents each property saw
and how they ended; exits 1 on the first falsified property (Hypothesis shows the input).
The server defaults to TEST_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fuzz_yaml import (  # noqa: E402
    documents,
    mutated,
    plan_refusal_is_located,
    plannable_documents,
    validate_property,
)
from tests.helpers import make_project, settings_for  # noqa: E402

from schemactl.db.urls import normalize  # noqa: E402
from schemactl.errors import SpecError  # noqa: E402
from schemactl.pipeline import make_plan  # noqa: E402


def _settings(examples: int) -> settings:
    return settings(max_examples=examples, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck))


def run_validate(examples: int, rng_seed: int) -> Counter[str]:
    counts: Counter[str] = Counter()

    @seed(rng_seed)
    @_settings(examples)
    @given(text=mutated())
    def mutated_docs(text: str) -> None:
        counts["mutated: accepted" if validate_property(text) else "mutated: refused, located"] += 1

    @seed(rng_seed)
    @_settings(examples)
    @given(text=documents())
    def generated_docs(text: str) -> None:
        counts["generated: accepted" if validate_property(text)
               else "generated: refused, located"] += 1

    mutated_docs()
    generated_docs()
    return counts


def run_plan(examples: int, rng_seed: int, server: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    config = settings_for(normalize(server))

    @seed(rng_seed)
    @_settings(examples)
    @given(text=plannable_documents())
    def plans(text: str) -> None:
        if validate_property(text) is None:
            counts["refused by validate"] += 1
            return
        with tempfile.TemporaryDirectory() as tmp:
            project = make_project(Path(tmp) / "app", text)
            try:
                plan = make_plan(project, config)
                counts["planned" + ("" if plan.has_changes else " (no changes)")] += 1
            except SpecError as exc:
                plan_refusal_is_located(exc, "schema/app.yaml")
                counts["refused by plan, located (E901)"] += 1

    plans()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--validate", type=int, default=5000, help="examples per validate property")
    parser.add_argument("--plan", type=int, default=100, help="examples for the plan property")
    parser.add_argument("--server", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    started = time.monotonic()
    counts = run_validate(args.validate, args.seed)
    if args.plan and args.server:
        counts += run_plan(args.plan, args.seed, args.server)
    elif args.plan:
        print("no --server (or TEST_DATABASE_URL): plan property skipped", file=sys.stderr)
    for what, n in sorted(counts.items()):
        print(f"{n:>7}  {what}")
    print(f"{sum(counts.values()):>7}  documents in {time.monotonic() - started:.0f} s; "
          "no property falsified")


if __name__ == "__main__":
    main()
