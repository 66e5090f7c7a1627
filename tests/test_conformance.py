"""A fast subset of the conformance runner (bench/conformance.py) over the shared corpus.

Each diff case: old schema in database A, new in B; inspect B -> YAML; plan against A; apply;
A must then inspect equal to B and a second plan must be empty. The full run (every migra,
pgschema and real-world case) is `python bench/conformance.py`; these cases keep it honest
in the suite, including the two ways a case is skipped.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy.engine import URL

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"


def _load_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("conformance", REPO / "bench" / "conformance.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["conformance"] = module
    spec.loader.exec_module(module)
    return module


conformance = _load_runner()

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no corpus at {CORPUS}")

FAST_SUBSET = [
    ("pgschema", "create_table/add_fk", "passed"),
    ("pgschema", "create_table/add_column_identity", "passed"),
    ("pgschema", "create_table/add_check", "passed"),
    ("pgschema", "create_type/add_value", "passed"),
    ("pgschema", "comment/column_comment_quoted_identifier", "passed"),
    ("pgschema", "create_domain/add_domain", "skipped"),
]


def _case(corpus: str, name: str) -> object:
    found = [c for c in conformance.discover([corpus], CORPUS) if c.name == name]
    assert len(found) == 1, f"{corpus}/{name} not in the corpus"
    return found[0]


@pytest.mark.parametrize(("corpus", "name", "expected"), FAST_SUBSET,
                         ids=[f"{c}/{n}" for c, n, _ in FAST_SUBSET])
def test_corpus_case(corpus: str, name: str, expected: str, server_url: URL,
                     tmp_path: Path) -> None:
    outcome = conformance.run_case(_case(corpus, name), server_url, tmp_path)
    assert (outcome.status, outcome.reason) == (expected, outcome.reason)
    if expected == "skipped":
        assert outcome.reason == "unsupported: domain"


def test_a_case_that_does_not_load_is_skipped_with_the_error(server_url: URL,
                                                            tmp_path: Path) -> None:
    case = _case("migra", "rls")  # needs a role the server does not have
    outcome = conformance.run_case(case, server_url, tmp_path)
    assert outcome.status == "skipped"
    assert 'role "schemainspect_test_role" does not exist' in outcome.reason


def test_report_counts_per_corpus_and_kind() -> None:
    case = conformance.Case("migra", "x", (Path("b.sql"),), (Path("a.sql"),))
    outcomes = [conformance.Outcome(case, "passed", kinds={"table", "index"}),
                conformance.Outcome(case, "skipped", "unsupported: view",
                                    kinds={"table", "unsupported: view"})]
    text = conformance.report(outcomes)
    assert "| migra | 2 | 1 | 0 | 1 |" in text
    assert "| table | 2 | 1 | 0 | 1 |" in text
    assert "| unsupported: view | 1 | 0 | 0 | 1 |" in text
