"""Conformance: schemas written by other projects (../shared/corpus) as a test of schemactl.

Two kinds of case:

- diff (migra a.sql/b.sql, pgschema old.sql/new.sql with setup.sql): load old into database A
  and new into B; inspect B -> YAML; plan that YAML against A (`plan --against`); write the
  revision and apply it to A; then A must inspect equal to B, and a second plan must be empty.
- adopt (the real-world schemas, pgschema dump cases, and with --corpus migra-adopt /
  pgschema-adopt every b.sql / new.sql of the diff cases): load into A; inspect -> YAML;
  `plan --against A` must find no changes; the baseline revision (plan from an empty history)
  applied to an empty database must inspect equal to A.

A case that does not load on the server (missing role, extension, version) is skipped with the
error; a case using objects the YAML cannot express is skipped with their kinds. The table
printed at the end counts passed / failed / skipped per corpus and per object kind.

    python bench/conformance.py [--server URL] [--corpus migra,pgschema,dump,schemas,...]
                                [--case SUBSTRING] [-v]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL

from schemactl.apply import checksums, runner
from schemactl.db.throwaway import throwaway_database
from schemactl.db.urls import libpq_dsn, normalize
from schemactl.errors import SpecError
from schemactl.inspect.catalog import Inspection, inspect_database
from schemactl.inspect.compare import differences
from schemactl.pipeline import make_plan, write_revision
from schemactl.project import Project
from schemactl.render.yaml_spec import render
from schemactl.settings import Settings
from schemactl.spec.types import SchemaSpec

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Case:
    corpus: str
    name: str
    new: tuple[Path, ...]  # the desired schema (B), or the schema to adopt
    old: tuple[Path, ...] | None = None  # the starting schema (A); None for an adopt case
    setup: tuple[Path, ...] = ()  # prerequisites loaded into every database first


@dataclass
class Outcome:
    case: Case
    status: str  # passed | failed | skipped
    reason: str = ""
    kinds: set[str] = field(default_factory=set)  # object kinds the case uses
    seconds: float = 0.0


class Skip(Exception):
    pass


class Fail(Exception):
    pass


# -- the cases ----------------------------------------------------------------------------


def discover(corpora: Iterable[str], corpus_dir: Path = CORPUS) -> list[Case]:
    cases: list[Case] = []
    for corpus in corpora:
        cases.extend(_DISCOVER[corpus](corpus_dir))
    return cases


def _migra(root: Path) -> list[Case]:
    return [Case("migra", d.name, (d / "b.sql",), (d / "a.sql",))
            for d in sorted((root / "migra-fixtures").iterdir()) if (d / "b.sql").exists()]


def _pgschema(root: Path) -> list[Case]:
    base = root / "pgschema-testdata" / "diff"
    return [
        Case("pgschema", str(d.relative_to(base)), (d / "new.sql",), (d / "old.sql",),
             (d / "setup.sql",) if (d / "setup.sql").exists() else ())
        for d in sorted(base.glob("*/*")) if (d / "new.sql").exists()
    ]


def _adopt_new(cases: list[Case], corpus: str) -> list[Case]:
    """The desired side of each diff case, as a database to adopt (issue 6's round trip)."""
    return [Case(corpus, c.name, c.new, None, c.setup) for c in cases]


def _dump(root: Path) -> list[Case]:
    base = root / "pgschema-testdata" / "dump"
    return [Case("dump", d.name, (d / "pgdump.sql",))
            for d in sorted(base.iterdir()) if (d / "pgdump.sql").exists()]


def _schemas(root: Path) -> list[Case]:
    return [Case("schemas", p.stem, (p,)) for p in sorted((root / "schemas").glob("*.sql"))]


_DISCOVER = {
    "migra": _migra, "pgschema": _pgschema, "dump": _dump, "schemas": _schemas,
    "migra-adopt": lambda root: _adopt_new(_migra(root), "migra-adopt"),
    "pgschema-adopt": lambda root: _adopt_new(_pgschema(root), "pgschema-adopt"),
}


# -- running one case ---------------------------------------------------------------------


def run_case(case: Case, server: URL, workdir: Path) -> Outcome:
    started = time.monotonic()
    outcome = Outcome(case, "passed")
    try:
        with ExitStack() as stack:
            if case.old is None:
                _adopt(case, server, workdir, outcome, stack)
            else:
                _diff(case, server, workdir, outcome, stack)
    except Skip as exc:
        outcome.status, outcome.reason = "skipped", str(exc)
    except Fail as exc:
        outcome.status, outcome.reason = "failed", str(exc)
    except SpecError as exc:
        outcome.status, outcome.reason = "failed", "YAML does not validate: " + str(exc)
    except Exception as exc:  # a crash is a failure of the case, with its cause
        outcome.status = "failed"
        outcome.reason = f"{type(exc).__name__}: {_first_line(str(exc))}" + "".join(
            f" [{line.strip()}]" for line in str(exc).splitlines()
            if line.strip().startswith(("statement:", "PostgreSQL:")))
        if "-v" in sys.argv:
            traceback.print_exc()
    outcome.seconds = time.monotonic() - started
    return outcome


def _diff(case: Case, server: URL, workdir: Path, outcome: Outcome, stack: ExitStack) -> None:
    assert case.old is not None
    a = stack.enter_context(_loaded(server, case.setup + case.old))
    b = stack.enter_context(_loaded(server, case.setup + case.new))
    want, start = inspect_database(b), inspect_database(a)
    outcome.kinds = spec_kinds(want.spec) | spec_kinds(start.spec)
    _skip_unsupported(outcome, want, start)
    project, settings = _project(workdir, want.spec, server)
    _plan_and_apply(project, settings, a)
    _same(want, inspect_database(a), "after apply", column_order=False)
    again = make_plan(project, settings, against=a)
    if again.has_changes:
        raise Fail(f"a second plan is not empty: {_steps(again)}")


def _adopt(case: Case, server: URL, workdir: Path, outcome: Outcome, stack: ExitStack) -> None:
    a = stack.enter_context(_loaded(server, case.setup + case.new))
    found = inspect_database(a)
    outcome.kinds = spec_kinds(found.spec)
    _skip_unsupported(outcome, found)
    project, settings = _project(workdir, found.spec, server)
    against = make_plan(project, settings, against=a)
    if against.has_changes:
        raise Fail(f"plan --against the inspected database is not empty: {_steps(against)}")
    fresh = stack.enter_context(throwaway_database(server, "schemactl_conf"))
    _plan_and_apply(project, settings, fresh)
    _same(found, inspect_database(fresh), "baseline applied to an empty database")


def _skip_unsupported(outcome: Outcome, *inspections: Inspection) -> None:
    kinds = sorted({u.kind for i in inspections for u in i.unsupported})
    outcome.kinds |= {f"unsupported: {k}" for k in kinds}
    if kinds:
        raise Skip("unsupported: " + ", ".join(kinds))


def _plan_and_apply(project: Project, settings: Settings, target: URL) -> None:
    plan = make_plan(project, settings, against=None if _fresh(target) else target)
    if not plan.has_changes:
        return
    write_revision(project, plan, "conformance")
    checksums.record(project)
    runner.upgrade(project, settings, target)


def _fresh(url: URL) -> bool:
    """An empty database gets the migration history's plan (the baseline)."""
    with psycopg.connect(libpq_dsn(url)) as conn:
        # Tables are not all: a database with only enum types or extensions is not empty.
        row = conn.execute(
            "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n "
            "        ON n.oid = c.relnamespace WHERE n.nspname NOT IN "
            "        ('pg_catalog', 'information_schema', 'pg_toast'))"
            " + (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
            "    WHERE t.typtype IN ('e', 'd') AND n.nspname NOT IN "
            "    ('pg_catalog', 'information_schema'))"
            " + (SELECT count(*) FROM pg_extension WHERE extname <> 'plpgsql')"
            " + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            "    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND NOT EXISTS"
            "    (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e'))"
            ).fetchone()
    return row is not None and row[0] == 0


def _same(want: Inspection, got: Inspection, when: str, column_order: bool = True) -> None:
    found = differences(want.spec, got.spec, column_order)
    if found:
        more = f" (+{len(found) - 2} more)" if len(found) > 2 else ""
        raise Fail(f"{when}: " + "; ".join(found[:2]) + more)


def _steps(plan: object) -> str:
    steps = getattr(plan, "steps", [])
    shown = ", ".join(f"{s.action} {s.kind} {s.name}" for s in steps[:3])
    return shown + (f" (+{len(steps) - 3} more)" if len(steps) > 3 else "")


@contextmanager
def _loaded(server: URL, files: tuple[Path, ...]) -> Iterator[URL]:
    with throwaway_database(server, "schemactl_conf") as url:
        try:
            with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
                for path in files:
                    conn.execute(path.read_text(encoding="utf-8"))
        except psycopg.Error as exc:
            raise Skip(f"does not load on this server: {_first_line(str(exc))}") from None
        yield url


def _project(workdir: Path, spec: SchemaSpec, server: URL) -> tuple[Project, Settings]:
    root = Path(tempfile.mkdtemp(dir=workdir))
    for name in ("migrations/versions", "migrations/sql", "schema"):
        (root / name).mkdir(parents=True)
    shutil.copy(REPO / "alembic.ini", root / "alembic.ini")
    for name in ("env.py", "script.py.mako"):
        shutil.copy(REPO / "migrations" / name, root / "migrations" / name)
    files = render(spec) or {"empty.yaml": "# no tables\n"}
    for name, text in files.items():
        (root / "schema" / name).write_text(text, encoding="utf-8")
    shadow = server.render_as_string(hide_password=False)
    settings = Settings(_env_file=None, shadow_database_url=shadow)  # type: ignore[call-arg, arg-type]
    return Project(root), settings


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


# -- what a case uses ---------------------------------------------------------------------


def spec_kinds(spec: SchemaSpec) -> set[str]:
    """The object kinds a spec uses, for the per-kind table."""
    kinds: set[str] = set()
    if spec.enums:
        kinds.add("enum")
    if spec.extensions:
        kinds.add("extension")
    if spec.schemas:
        kinds.add("schema")
    for t in spec.tables:
        kinds.add("table")
        kinds |= {"comment"} if t.comment or any(c.comment for c in t.columns) else set()
        for c in t.columns:
            kinds |= {k for k, used in (
                ("identity column", c.identity), ("generated column", c.generated),
                ("literal default", c.default is not None), ("SQL default", c.default_sql),
                ("array column", c.type.array_dims), ("enum column", c.type.is_enum)) if used}
        kinds |= {k for k, used in (
            ("primary key", t.primary_key), ("unique", t.uniques), ("foreign key", t.foreign_keys),
            ("check", t.checks), ("index", t.indexes)) if used}
        for i in t.indexes:
            kinds |= {k for k, used in (
                ("partial index", i.where), ("expression index",
                 any(e.expression for e in i.elements)), ("index include", i.include),
                (f"index using {i.using}", i.using != "btree")) if used}
    kinds |= {f.kind for f in spec.functions} | {v.kind for v in spec.views}
    kinds |= {"trigger"} if spec.triggers else set()
    return kinds


# -- the report ---------------------------------------------------------------------------


def report(outcomes: list[Outcome]) -> str:
    lines = ["| corpus | cases | passed | failed | skipped |", "|---|---|---|---|---|"]
    by_corpus: dict[str, Counter[str]] = defaultdict(Counter)
    for o in outcomes:
        by_corpus[o.case.corpus][o.status] += 1
    total: Counter[str] = Counter()
    for corpus, counts in by_corpus.items():
        total.update(counts)
        lines.append(_row(corpus, counts))
    lines.append(_row("**all**", total))
    lines += ["", "| object kind | cases | passed | failed | skipped |", "|---|---|---|---|---|"]
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    for o in outcomes:
        for kind in o.kinds:
            by_kind[kind][o.status] += 1
    for kind in sorted(by_kind, key=lambda k: (k.startswith("unsupported"), k)):
        lines.append(_row(kind, by_kind[kind]))
    skipped_load = [o for o in outcomes if o.reason.startswith("does not load")]
    lines += ["", f"Skipped because they do not load on this server: {len(skipped_load)}"]
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        lines += ["", "Failures:"]
        lines += [f"- {o.case.corpus}/{o.case.name}: {o.reason}" for o in failed]
    return "\n".join(lines)


def _row(name: str, counts: Counter[str]) -> str:
    n = sum(counts.values())
    return f"| {name} | {n} | {counts['passed']} | {counts['failed']} | {counts['skipped']} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default=DEFAULT_SERVER)
    parser.add_argument("--corpus", default="migra,pgschema,dump,schemas")
    parser.add_argument("--case", default="", help="only cases whose name contains this")
    parser.add_argument("-v", action="store_true", help="print each case as it finishes")
    args = parser.parse_args(argv)
    server = normalize(args.server)
    cases = [c for c in discover(args.corpus.split(",")) if args.case in c.name]
    outcomes = []
    with tempfile.TemporaryDirectory() as workdir:
        for case in cases:
            outcome = run_case(case, server, Path(workdir))
            outcomes.append(outcome)
            if args.v:
                print(f"{outcome.status:8} {outcome.seconds:6.2f}s {case.corpus}/{case.name}"
                      f"{': ' + outcome.reason if outcome.reason else ''}", flush=True)
    print(report(outcomes))
    return 1 if any(o.status == "failed" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
