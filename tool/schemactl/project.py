"""Where a project's files are: schema/, migrations/, alembic.ini, and its Alembic Config.

Input: a project directory. Output: its paths, and an Alembic Config only once the files
Alembic will load are sound (alembic.ini parses, env.py exists, every revision file is
UTF-8 Python that loads and names its revision and down_revision, and the revisions form
one history without a gap or a cycle). A broken file is an error naming it, never a
traceback from deep inside Alembic.
"""

from __future__ import annotations

import ast
import configparser
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from schemactl.errors import SchemactlError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

# Project states (file names, sizes, mtimes) already checked in this process.
_sound: set[tuple[object, ...]] = set()
# Alembic's view of the revision files, per project state: its revision map (every revision
# module loaded) is built once per command, not once per question asked of it.
_scripts: dict[tuple[object, ...], ScriptDirectory] = {}
_SCRIPTS_KEPT = 8


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def schema_dir(self) -> Path:
        return self.root / "schema"

    @property
    def migrations_dir(self) -> Path:
        return self.root / "migrations"

    @property
    def versions_dir(self) -> Path:
        return self.migrations_dir / "versions"

    @property
    def sql_dir(self) -> Path:
        return self.migrations_dir / "sql"

    @property
    def sum_file(self) -> Path:
        return self.migrations_dir / "schemactl.sum"

    @property
    def alembic_ini(self) -> Path:
        return self.root / "alembic.ini"

    def alembic_config(self) -> Config:
        """Alembic's Config for this project; script_location is always our migrations dir."""
        state = self._state()
        if state not in _sound:
            self._check_files()
            _sound.add(state)
        return self._config()

    def scripts(self) -> ScriptDirectory:
        """Alembic's ScriptDirectory of the (checked) revision files, shared while they are
        unchanged."""
        config = self.alembic_config()
        state = self._state()
        found = _scripts.get(state)
        if found is None:
            from alembic.script import ScriptDirectory

            found = ScriptDirectory.from_config(config)
            if len(_scripts) >= _SCRIPTS_KEPT:
                _scripts.pop(next(iter(_scripts)))
            _scripts[state] = found
        return found

    def _config(self) -> Config:
        from alembic.config import Config  # here: finding a project must not load Alembic

        cfg = Config(str(self.alembic_ini)) if self.alembic_ini.exists() else Config()
        cfg.set_main_option("script_location", str(self.migrations_dir))
        cfg.attributes["schemactl_project"] = self
        return cfg

    def _state(self) -> tuple[object, ...]:
        files = [self.alembic_ini, self.migrations_dir / "env.py",
                 *sorted(self.versions_dir.glob("*.py"))]
        return tuple((str(f), *_stamp(f)) for f in files)

    def _check_files(self) -> None:
        if self.alembic_ini.exists():
            try:
                self._config().file_config  # noqa: B018  (parsing is what is checked)
            except (configparser.Error, UnicodeDecodeError) as exc:
                raise SchemactlError(f"{self.alembic_ini}: cannot be parsed: {_first_line(exc)}",
                                     hint="restore it from version control, or remove it and "
                                     "run `schemactl init` to write a fresh one") from None
        if self.migrations_dir.is_dir() and not (self.migrations_dir / "env.py").is_file():
            raise SchemactlError(f"{self.migrations_dir / 'env.py'} is missing",
                                 hint="`schemactl init` writes it again (it keeps existing files)")
        for path in sorted(self.versions_dir.glob("*.py")):
            _check_revision_source(path)
        if self.versions_dir.is_dir() and any(self.versions_dir.glob("*.py")):
            self._check_history()

    def _check_history(self) -> None:
        """Load every revision as Alembic does; name the file that breaks it."""
        from alembic.script import ScriptDirectory

        _check_links(self.versions_dir)
        try:
            scripts = ScriptDirectory.from_config(self._config())
            loaded = list(scripts.walk_revisions())
            scripts.get_heads()
            _scripts[self._state()] = scripts  # checked: the one the commands then use
        except SchemactlError:
            raise
        except Exception as exc:  # noqa: BLE001  (whatever a revision file does when run)
            raise _history_error(self, exc) from None
        for script in loaded:
            for name in ("schemactl_hazards", "schemactl_downgrade_hazards"):
                _check_hazards(Path(script.path), name, getattr(script.module, name, None))


def _stamp(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except OSError:
        return (-1, -1)
    return (st.st_size, st.st_mtime_ns)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _check_revision_source(path: Path) -> None:
    """UTF-8 Python that assigns revision and down_revision at its top level."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SchemactlError(f"{path}:{line}: not UTF-8 text (byte {data[exc.start]:#04x})",
                             hint="restore the revision from version control") from None
    try:
        tree = ast.parse(text, filename=str(path))
    except (SyntaxError, ValueError) as exc:
        where = f"{path}:{exc.lineno}" if isinstance(exc, SyntaxError) and exc.lineno else str(path)
        reason = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        raise SchemactlError(f"{where}: not valid Python: {reason}",
                             hint="the file is truncated or was edited; restore it from "
                             "version control") from None
    assigned = {
        target.id
        for node in tree.body
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    }
    missing = [name for name in ("revision", "down_revision") if name not in assigned]
    if missing:
        raise SchemactlError(f"{path}: does not set {' and '.join(missing)}",
                             hint="every revision file names itself (revision = "
                             "'20260102030405') and the one before it (down_revision = "
                             "'20260101000000', or None for the first)")


def _literal(tree: ast.Module, name: str) -> object:
    """The literal a module assigns to name at its top level (... when not a literal)."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            try:
                return ast.literal_eval(node.value)
            except ValueError:
                return ...
    return ...


def _check_links(versions: Path) -> None:
    """Every down_revision names a revision that exists, and no revision follows itself."""
    down_of: dict[str, tuple[Path, object]] = {}
    for path in sorted(versions.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        revision = _literal(tree, "revision")
        if isinstance(revision, str):
            down_of[revision] = (path, _literal(tree, "down_revision"))
    for revision, (path, down) in down_of.items():
        for parent in down if isinstance(down, (tuple, list)) else [down]:
            if isinstance(parent, str) and parent not in down_of:
                raise SchemactlError(f"{path}: down_revision {parent!r} is not a revision in "
                                     f"{versions}",
                                     hint="restore the missing revision file, or set "
                                     "down_revision to the revision before this one")
        seen = [revision]
        while isinstance(down, str) and down in down_of:
            if down in seen:
                chain = " -> ".join([*seen, down])
                raise SchemactlError(f"{path}: the revisions form a cycle ({chain})",
                                     hint="each down_revision must name an older revision")
            seen.append(down)
            down = down_of[down][1]


_HAZARD_KEYS = ("code", "kind", "object", "message")


def _check_hazards(path: Path, name: str, records: object) -> None:
    """The hazards plan recorded in a revision; apply decides from them whether to ask."""
    if records is None or (isinstance(records, (list, tuple)) and all(
        isinstance(r, dict) and all(isinstance(r.get(k, ""), str) for k in _HAZARD_KEYS)
        for r in records
    )):
        return
    shown = repr(records)
    raise SchemactlError(
        f"{path}: {name} must be a list of {{code, kind, object, message}} texts, "
        f"found {shown if len(shown) <= 60 else shown[:57] + '...'}",
        hint="restore the list plan wrote (from version control), or re-plan the revision",
    )


def _history_error(project: Project, exc: Exception) -> SchemactlError:
    """The revision file a loading error came from (from the traceback), or the history."""
    culprit = None
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if os.path.dirname(os.path.abspath(filename)) == str(project.versions_dir.resolve()):
            culprit = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    if culprit is not None:
        return SchemactlError(f"{culprit}: loading the revision failed: "
                              f"{type(exc).__name__}: {_first_line(exc)}",
                              hint="a revision file must load without errors; restore it from "
                              "version control")
    return SchemactlError(f"the migration history in {project.versions_dir} is broken: "
                          f"{_first_line(exc)}",
                          hint="each revision's down_revision must name the one before it; "
                          "no revision may come (directly or not) after itself")


def find_project(start: Path | None = None) -> Project:
    """The nearest directory at or above start that holds alembic.ini or schema/."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "alembic.ini").exists() or (candidate / "schema").is_dir():
            return Project(candidate)
    raise SchemactlError(
        f"no schemactl project at or above {here}",
        hint="run `schemactl init` to create one, or pass --project-dir",
    )
