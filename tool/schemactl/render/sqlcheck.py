"""Check offline SQL statement by statement with sqlglot (PostgreSQL dialect).

Every statement Alembic renders is tokenized and parsed before anything is written. The
check never passes a statement it did not understand without saying so:

- a statement sqlglot rejects is an error naming the revision and the statement;
- a statement sqlglot can only keep as an opaque exp.Command is marked `opaque`;
- forms sqlglot mis-reads or rejects although PostgreSQL accepts them are rendered in an
  unambiguous form (`RENAME a TO b` -> `RENAME COLUMN a TO b`, identity options in the
  order sqlglot knows) or checked through an equivalent (`IS NULL` checked as `IS ''`,
  which PostgreSQL treats the same way: both remove the comment);
- one operation that renders as several statements is an error (a literal that ended a
  string early would look exactly like that).

Each statement is also classified (create, alter, drop, rename, data change, version,
other), and drops of data-holding objects are cross-checked with the revision's recorded
hazards: a drop the plan did not mark destructive is an error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import pglast
import sqlglot
from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from schemactl.errors import SchemactlError
from schemactl.plan.analyze import DROP_CODES  # the code that must mark each kind of drop

_DIALECT = Postgres()
VERSION_TABLE = "alembic_version"

# Statement families where sqlglot rejects valid PostgreSQL that Alembic plugins emit
# (e.g. alembic-postgresql-enum's `DROP FUNCTION f(arg "schema"."type")`). They are kept as
# opaque commands, reported as such, and must still tokenize with balanced parentheses.
_KNOWN_PARSER_GAPS = (
    ("DROP", "FUNCTION"),
    ("CREATE", "FUNCTION"),
    ("CREATE", "OR", "REPLACE", "FUNCTION"),
    ("CREATE", "OPERATOR"),
    ("DROP", "OPERATOR"),
    ("DROP", "PROCEDURE"),
    ("COMMENT", "ON", "TRIGGER"),
)

_DATA_CHANGE = {"INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "TRUNCATE"}


@dataclass(frozen=True)
class Dropped:
    """An object a statement drops: kind is one of DROP_CODES' keys."""

    kind: str
    name: str  # "users", "users.image_file", "post_status.archived"

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class CheckedStatement:
    revision: str
    sql: str  # the text to render (after rewrites into the unambiguous form)
    kind: str  # create, alter, drop, rename, data change, version, other
    drops: tuple[Dropped, ...] = ()
    opaque: bool = False  # sqlglot could only read it as an opaque command
    outside_transaction: str | None = None  # why it cannot run inside BEGIN ... COMMIT
    notes: tuple[str, ...] = ()


class SqlCheckError(SchemactlError):
    """One or more statements failed the check; every problem names revision and statement."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        count = len(self.problems)
        head = f"offline SQL check failed ({count} problem{'s' if count != 1 else ''}):"
        super().__init__("\n".join([head, *self.problems]))


@dataclass
class EnumLabels:
    """Enum labels seen so far (type name -> labels), to tell when a rebuild drops a value."""

    labels: dict[str, list[str]] = field(default_factory=dict)


def check_sql(
    statements: Iterable[str],
    revision: str,
    hazards: Sequence[Mapping[str, str]] | None = None,
    enums: EnumLabels | None = None,
) -> list[CheckedStatement]:
    """Check one revision's statements; raise SqlCheckError listing every problem.

    hazards: the revision's schemactl_hazards; None skips the destructive cross-check
    (downgrades undo what the upgrade created, which the plan does not record as hazards).
    """
    _quiet_sqlglot()
    state = _RevisionState(enums or EnumLabels())
    checked: list[CheckedStatement] = []
    problems: list[str] = []
    for text in statements:
        try:
            checked.append(_check_one(text, revision, state))
        except _Rejected as rejected:
            problems.append(_problem(revision, text, str(rejected)))
    checked = _forgive_regenerated(checked, state.generated)
    if hazards is not None:
        for statement in checked:
            for reason in _unmarked(statement, hazards):
                problems.append(_problem(revision, statement.sql, reason))
    if problems:
        raise SqlCheckError(problems)
    return checked


# --- one statement ------------------------------------------------------------------------


class _Rejected(Exception):
    pass


@dataclass
class _RevisionState:
    enums: EnumLabels
    created: set[tuple[str, str]] = field(default_factory=set)  # made earlier in this revision
    renamed_from: dict[str, str] = field(default_factory=dict)  # type new name -> old name
    generated: set[str] = field(default_factory=set)  # "table.column" added as generated


def _check_one(text: str, revision: str, state: _RevisionState) -> CheckedStatement:
    sql = text.strip().rstrip(";").rstrip()
    tokens = _tokenize(sql)
    if not tokens:
        raise _Rejected("empty statement")
    sql = _strip_line_ends(_rewrite_identity(_rewrite_column_rename(sql, tokens)))
    # Checked and classified with E'' literals spelled as standard ones (same values).
    standard = _standard_strings(sql, _tokenize(sql))
    tokens = _tokenize(standard)
    notes: list[str] = []
    expression = _parse(_check_form(standard, tokens, notes), tokens, notes)
    opaque = isinstance(expression, exp.Command)
    kind, drops = _classify(expression, tokens, state, notes)
    return CheckedStatement(
        revision=revision,
        sql=sql,
        kind=kind,
        drops=tuple(drops),
        opaque=opaque,
        outside_transaction=_outside_transaction(tokens),
        notes=tuple(notes),
    )


def _tokenize(sql: str) -> list[Token]:
    try:
        return list(_DIALECT.tokenize(sql))
    except TokenError as exc:
        raise _Rejected(f"sqlglot cannot tokenize it ({_first_line(str(exc))})") from None


def _words(tokens: Sequence[Token], n: int = 4) -> tuple[str, ...]:
    """The first n tokens' text in upper case, for matching statement families."""
    return tuple(t.text.upper() for t in tokens[:n])


def _parse(check_text: str, tokens: Sequence[Token], notes: list[str]) -> exp.Expr:
    try:
        parsed = [e for e in sqlglot.parse(check_text, read="postgres") if e is not None]
    except ParseError as exc:
        if _is_known_gap(tokens) and _one_postgresql_statement(check_text):
            notes.append("sqlglot rejects this valid PostgreSQL form; checked as opaque command "
                         "with PostgreSQL's own grammar")
            return exp.Command(this=tokens[0].text.upper(), expression=exp.Literal.string(""))
        raise _Rejected(f"sqlglot rejects it: {_first_line(str(exc))}") from None
    if len(parsed) != 1 and _is_known_gap(tokens) and _one_postgresql_statement(check_text):
        # A SQL-standard function body (BEGIN ATOMIC ... END) holds statements of its own.
        notes.append("sqlglot reads this valid PostgreSQL form as several statements; "
                     "checked as one with PostgreSQL's own grammar")
        return exp.Command(this=tokens[0].text.upper(), expression=exp.Literal.string(""))
    if len(parsed) != 1:
        raise _Rejected(
            f"one operation rendered as {len(parsed)} statements "
            "(a literal that ends a string early looks like this); "
            "split it into separate operations"
        )
    return parsed[0]


def _one_postgresql_statement(sql: str) -> bool:
    """PostgreSQL's own grammar (pglast) reads sql as exactly one statement."""
    try:
        return len(pglast.parse_sql(sql)) == 1
    except pglast.parser.ParseError:
        return False


def _is_known_gap(tokens: Sequence[Token]) -> bool:
    words = _words(tokens, 4)
    if not any(words[: len(gap)] == gap for gap in _KNOWN_PARSER_GAPS):
        return False
    depth = 0
    for token in tokens:
        depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(token.token_type, 0)
        if depth < 0:
            return False
    return depth == 0


# --- rewrites into the unambiguous form ---------------------------------------------------


def _strip_line_ends(sql: str) -> str:
    """Drop the spaces SQLAlchemy leaves before line breaks, never inside a literal."""
    spans = [(t.start, t.end) for t in _tokenize(sql)]  # a multi-line literal is one token
    out, offset = [], 0
    for line in sql.split("\n"):
        end = offset + len(line)  # position of this line's line break
        within = any(start <= end <= stop for start, stop in spans)
        out.append(line if within else line.rstrip(" "))
        offset = end + 1
    return "\n".join(out)


def _rewrite_column_rename(sql: str, tokens: Sequence[Token]) -> str:
    """`ALTER TABLE t RENAME a TO b` (Alembic's form) -> `ALTER TABLE t RENAME COLUMN a TO b`.

    sqlglot reads the short form as a table rename; PostgreSQL reads it as a column rename.
    """
    if _words(tokens, 2) != ("ALTER", "TABLE"):
        return sql
    for i, token in enumerate(tokens[:-3]):
        if token.token_type is TokenType.RENAME:
            target, to = tokens[i + 1], tokens[i + 2]
            if target.text.upper() in {"TO", "COLUMN", "CONSTRAINT"} and target.token_type not in (
                TokenType.IDENTIFIER,
            ):
                return sql
            if to.text.upper() == "TO" and i + 3 == len(tokens) - 1:
                return sql[: target.start] + "COLUMN " + sql[target.start :]
    return sql


# SQLAlchemy renders identity options as INCREMENT BY, START WITH, ...; sqlglot only reads
# START WITH, INCREMENT BY, MINVALUE, MAXVALUE, CYCLE in that order. PostgreSQL takes any order.
_IDENTITY_ORDER = ("START", "INCREMENT", "MINVALUE", "NO MINVALUE", "MAXVALUE", "NO MAXVALUE",
                   "CYCLE", "NO CYCLE", "CACHE")
_IDENTITY_TAKES_NUMBER = {"START", "INCREMENT", "MINVALUE", "MAXVALUE", "CACHE"}
_IDENTITY_SQL = {"START": "START WITH", "INCREMENT": "INCREMENT BY"}
# Options sqlglot cannot read: checked by the option grammar below, left out of sqlglot's copy.
_IDENTITY_UNREAD = ("NO MINVALUE", "NO MAXVALUE", "CACHE")


def _rewrite_identity(sql: str) -> str:
    for start, end, options in reversed(_identity_clauses(sql)):
        ordered = sorted(options, key=lambda o: _IDENTITY_ORDER.index(o[0]))
        sql = sql[:start] + "(" + " ".join(_option_sql(o) for o in ordered) + ")" + sql[end + 1 :]
    return sql


def _option_sql(option: tuple[str, str | None]) -> str:
    name, number = option
    text = _IDENTITY_SQL.get(name, name)
    return f"{text} {number}" if number is not None else text


def _identity_clauses(sql: str) -> list[tuple[int, int, list[tuple[str, str | None]]]]:
    """(start of '(', end of ')', options) for every `AS IDENTITY (...)` in sql."""
    tokens = _tokenize(sql)
    found = []
    for i, token in enumerate(tokens[:-1]):
        if token.text.upper() == "IDENTITY" and tokens[i + 1].token_type is TokenType.L_PAREN:
            close = next(
                (j for j in range(i + 2, len(tokens)) if tokens[j].token_type is TokenType.R_PAREN),
                None,
            )
            if close is None:
                raise _Rejected("identity options are not closed")
            options = _identity_options(tokens[i + 2 : close])
            found.append((tokens[i + 1].start, tokens[close].end, options))
    return found


def _identity_options(tokens: Sequence[Token]) -> list[tuple[str, str | None]]:
    """Parse the option list strictly: every token must belong to a known option."""
    words = [t.text.upper() if t.token_type is not TokenType.NUMBER else t.text for t in tokens]
    options: list[tuple[str, str | None]] = []
    i = 0
    while i < len(words):
        name = words[i]
        if name == "NO" and i + 1 < len(words):
            name, i = f"NO {words[i + 1]}", i + 1
        if name not in _IDENTITY_ORDER:
            raise _Rejected(f"unknown identity option {words[i]!r}")
        i += 1
        if name in ("START", "INCREMENT") and i < len(words) and words[i] in ("WITH", "BY"):
            i += 1
        number = None
        if name in _IDENTITY_TAKES_NUMBER:
            number, i = _signed_number(words, i, name)
        options.append((name, number))
    return options


def _signed_number(words: Sequence[str], i: int, option: str) -> tuple[str, int]:
    sign = ""
    if i < len(words) and words[i] in ("-", "+"):
        sign, i = ("-" if words[i] == "-" else ""), i + 1
    if i >= len(words) or not words[i].isdigit():
        raise _Rejected(f"identity option {option} needs a whole number")
    return sign + words[i], i + 1


_INTERVAL_FIELDS = {"YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND", "TO"}


def _type_spellings(sql: str, tokens: Sequence[Token], notes: list[str]) -> str:
    """Type names sqlglot cannot read, checked in a form it can: `BIT VARYING` as VARBIT,
    `INTERVAL DAY TO SECOND (3)` without its precision (the fields stay)."""
    cuts: list[tuple[int, int, str]] = []  # (start, end inclusive, replacement)
    for i, token in enumerate(tokens):
        following = tokens[i + 1:]
        if (token.token_type is TokenType.BIT and following
                and following[0].text.upper() == "VARYING"):
            cuts.append((token.start, following[0].end, "VARBIT"))
        if token.token_type is TokenType.INTERVAL:
            fields = 0
            while fields < len(following) and following[fields].text.upper() in _INTERVAL_FIELDS \
                    and following[fields].token_type is TokenType.VAR:
                fields += 1
            rest = following[fields:fields + 3]
            if fields and [t.token_type for t in rest] == [
                    TokenType.L_PAREN, TokenType.NUMBER, TokenType.R_PAREN]:
                cuts.append((rest[0].start, rest[2].end, ""))
    if cuts:
        notes.append("BIT VARYING / INTERVAL fields(p) checked as VARBIT / INTERVAL fields")
    for start, end, replacement in reversed(cuts):
        sql = sql[:start] + replacement + sql[end + 1:]
    return sql


def _check_form(sql: str, tokens: Sequence[Token], notes: list[str]) -> str:
    """The text given to sqlglot: equivalent forms for what it cannot read."""
    typed = _type_spellings(sql, tokens, notes)
    if typed != sql:
        return _check_form(typed, _tokenize(typed), notes)
    words = _words(tokens, 2)
    if words == ("COMMENT", "ON") and [t.token_type for t in tokens[-2:]] == [
        TokenType.IS,
        TokenType.NULL,
    ]:
        null = tokens[-1]
        notes.append("COMMENT ... IS NULL checked as IS '' (both remove the comment)")
        return sql[: null.start] + "''" + sql[null.end + 1 :]
    if _identity_clauses(sql):
        check = sql
        for start, end, options in reversed(_identity_clauses(sql)):
            kept = [o for o in options if o[0] not in _IDENTITY_UNREAD]
            inner = " ".join(_option_sql(o) for o in kept)
            check = check[:start] + (f"({inner})" if kept else "") + check[end + 1 :]
        return check
    return sql


def _is_escape_string(sql: str, token: Token) -> bool:
    """An E'...' literal (sqlglot reads it, escapes decoded, as a BYTE_STRING token)."""
    return token.token_type is TokenType.BYTE_STRING and sql[token.start] in "eE"


def _standard_strings(sql: str, tokens: Sequence[Token]) -> str:
    """E'...' literals as standard '...' literals of the same value.

    sqlglot rejects E'' strings in some places PostgreSQL takes them (enum labels, COMMENT
    ON ... IS); the tokenizer has already decoded and validated the escapes, so the standard
    literal of token.text is the same value.
    """
    for token in reversed(tokens):
        if _is_escape_string(sql, token):
            standard = "'" + token.text.replace("'", "''") + "'"
            sql = sql[: token.start] + standard + sql[token.end + 1 :]
    return sql


# --- classification -----------------------------------------------------------------------


def _classify(
    expression: exp.Expr, tokens: Sequence[Token], state: _RevisionState, notes: list[str]
) -> tuple[str, list[Dropped]]:
    first = tokens[0].text.upper()
    if _touches_version_table(tokens):
        return "version", []
    if first in _DATA_CHANGE:
        return "data change", []
    if first == "CREATE":
        _remember_created(expression, tokens, state)
        return "create", []
    if first == "DROP":
        return "drop", _drops_of_drop(expression, tokens, state, notes)
    if first == "ALTER":
        return _classify_alter(expression, tokens, state)
    if first == "COMMENT":
        return "alter", []
    return "other", []


def _touches_version_table(tokens: Sequence[Token]) -> bool:
    return any(t.text.lower() == VERSION_TABLE for t in tokens[:4])


def _name(table: exp.Expr) -> str:
    """The object's own name (last part), as PostgreSQL stores it."""
    # sqlglot keeps a schema's name (CREATE/DROP SCHEMA s) in the `db` slot of a Table.
    return table.name or (table.text("db") if isinstance(table, exp.Table) else "")


def _remember_created(expression: exp.Expr, tokens: Sequence[Token], state: _RevisionState) -> None:
    if isinstance(expression, exp.Create) and isinstance(expression.this, exp.Expr):
        kind = str(expression.args.get("kind") or "").lower()
        target = expression.this
        if isinstance(target, exp.Schema):  # CREATE TABLE t (...): the table is inside
            target = target.this
        name = _name(target) if isinstance(target, exp.Expr) else ""
        state.created.add((kind, name))
        labels = _enum_labels(tokens) if kind == "type" else None
        if labels is not None:
            state.enums.labels[name] = labels
    elif _words(tokens, 2) == ("CREATE", "EXTENSION"):
        state.created.add(("extension", _last_identifier(tokens[2:])))


def _enum_labels(tokens: Sequence[Token]) -> list[str] | None:
    words = [t.text.upper() for t in tokens]
    if "ENUM" not in words:
        return None
    return [t.text for t in tokens[words.index("ENUM") :] if t.token_type is TokenType.STRING]


def _drops_of_drop(
    expression: exp.Expr, tokens: Sequence[Token], state: _RevisionState, notes: list[str]
) -> list[Dropped]:
    if isinstance(expression, exp.Drop):
        kind = str(expression.args.get("kind") or "").lower()
        names = [_name(t) for t in expression.args.get("tables") or [] if isinstance(t, exp.Expr)]
        if kind == "type":
            return [d for name in names for d in _drop_type(name, state, notes)]
        if kind in ("table", "schema"):
            return [Dropped(kind, n) for n in names if (kind, n) not in state.created]
        return []
    if _words(tokens, 2) == ("DROP", "EXTENSION"):
        name = _last_identifier(tokens[2:])
        return [] if ("extension", name) in state.created else [Dropped("extension", name)]
    return []


def _drop_type(name: str, state: _RevisionState, notes: list[str]) -> list[Dropped]:
    """DROP TYPE: a plain drop, or the old copy of an enum rebuilt in this revision."""
    labels = state.enums.labels.pop(name, None)
    rebuilt = state.renamed_from.get(name)
    if rebuilt is None:
        return [] if ("type", name) in state.created else [Dropped("type", name)]
    if labels is None:
        notes.append(f"cannot tell which values enum {rebuilt} lost (its labels were not seen)")
        return []
    kept = set(state.enums.labels.get(rebuilt, []))
    return [Dropped("enum value", f"{rebuilt}.{label}") for label in labels if label not in kept]


def _classify_alter(
    expression: exp.Expr, tokens: Sequence[Token], state: _RevisionState
) -> tuple[str, list[Dropped]]:
    if isinstance(expression, exp.Alter):
        table = _name(expression.this)
        actions = expression.args.get("actions") or []
        drops = [
            Dropped("column", f"{table}.{col.name}")
            for action in actions
            if isinstance(action, exp.Drop) and str(action.args.get("kind")).upper() == "COLUMN"
            for col in action.args.get("tables") or []
            if ("table", table) not in state.created
        ]
        state.generated |= {
            f"{table}.{action.name}" for action in actions
            if isinstance(action, exp.ColumnDef) and action.find(exp.ComputedColumnConstraint)
        }
        if drops or any(isinstance(a, exp.Drop) for a in actions):
            return "drop", drops
        if any(isinstance(a, (exp.RenameColumn, exp.AlterRename)) for a in actions):
            return "rename", []
        return "alter", []
    return _classify_opaque_alter(tokens, state)


def _classify_opaque_alter(
    tokens: Sequence[Token], state: _RevisionState
) -> tuple[str, list[Dropped]]:
    words = [t.text.upper() for t in tokens]
    if words[:2] == ["ALTER", "TYPE"]:
        _follow_enum_change(tokens, words, state)
    if "RENAME" in words:
        return "rename", []
    if "DROP" in words and words[:2] == ["ALTER", "TABLE"]:
        # An opaque ALTER TABLE ... DROP: treat any DROP COLUMN as a column drop of unknown name.
        i = words.index("DROP")
        if i + 1 < len(words) and words[i + 1] == "COLUMN":
            return "drop", [Dropped("column", _last_identifier(tokens[i + 2 :]))]
        return "drop", []
    return "alter", []


def _follow_enum_change(
    tokens: Sequence[Token], words: Sequence[str], state: _RevisionState
) -> None:
    """Keep the enum label table current through ALTER TYPE (add value, renames)."""
    rename_at = words.index("RENAME") if "RENAME" in words else None
    name = tokens[rename_at - 1].text if rename_at else _type_name(tokens, words)
    labels = state.enums.labels
    if rename_at is not None and words[rename_at + 1 : rename_at + 2] == ["TO"]:
        new = tokens[rename_at + 2].text
        if name in labels:
            labels[new] = labels.pop(name)
        state.renamed_from[new] = name
        state.created.add(("type", new))
    elif rename_at is not None and words[rename_at + 1 : rename_at + 2] == ["VALUE"]:
        strings = [t.text for t in tokens[rename_at:] if t.token_type is TokenType.STRING]
        if name in labels and len(strings) == 2 and strings[0] in labels[name]:
            labels[name][labels[name].index(strings[0])] = strings[1]
    elif "ADD" in words and name in labels:
        strings = [t.text for t in tokens if t.token_type is TokenType.STRING]
        if strings and strings[0] not in labels[name]:
            labels[name].append(strings[0])


def _type_name(tokens: Sequence[Token], words: Sequence[str]) -> str:
    """The type name in ALTER TYPE [schema.]name ..., which is the token before the verb."""
    for i in range(2, len(words)):
        if words[i] in ("ADD", "RENAME", "OWNER", "SET", "DROP", "ALTER"):
            return tokens[i - 1].text
    return tokens[-1].text


def _last_identifier(tokens: Sequence[Token]) -> str:
    """The first name in tokens, skipping IF [NOT] EXISTS and schema qualification."""
    names = [t for t in tokens if t.text.upper() not in ("IF", "NOT", "EXISTS")]
    if not names:
        return "?"
    i = 0
    while i + 2 < len(names) and names[i + 1].token_type is TokenType.DOT:
        i += 2
    return names[i].text


def _outside_transaction(tokens: Sequence[Token]) -> str | None:
    words = [t.text.upper() for t in tokens]
    if "CONCURRENTLY" in words[:4] and words[0] in ("CREATE", "DROP", "REINDEX"):
        verb = " ".join(words[: words.index("CONCURRENTLY") + 1])
        return f"{verb} cannot run inside a transaction block"
    if words[:2] == ["ALTER", "TYPE"] and "ADD" in words and "VALUE" in words:
        return (
            "ALTER TYPE ... ADD VALUE cannot run inside a transaction block before PostgreSQL 12, "
            "and the new value cannot be used until it is committed"
        )
    if words[0] == "DO" and any(re.search(r"\bCOMMIT\b", t.text, re.I) for t in tokens[1:]):
        return "a DO block that commits its batches cannot run inside a transaction block"
    if words[0] in ("VACUUM",) or words[:2] in (["CREATE", "DATABASE"], ["ALTER", "SYSTEM"]):
        return f"{' '.join(words[:2])} cannot run inside a transaction block"
    return None


# --- cross-check with the plan ------------------------------------------------------------


def _forgive_regenerated(
    checked: list[CheckedStatement], generated: set[str]
) -> list[CheckedStatement]:
    """A column dropped and added back as a generated column in the same revision (a changed
    expression) loses nothing: its values are computed again from the other columns."""
    result = []
    for statement in checked:
        kept = tuple(d for d in statement.drops
                     if not (d.kind == "column" and d.name in generated))
        if kept != statement.drops:
            statement = replace(statement, drops=kept, notes=(
                *statement.notes, "the column is added back as a generated column: "
                "its values are computed, not lost"))
        result.append(statement)
    return result



def _unmarked(statement: CheckedStatement, hazards: Sequence[Mapping[str, str]]) -> list[str]:
    """Drops in the statement that no data-loss hazard of the revision accounts for."""
    missing = []
    for dropped in statement.drops:
        code = DROP_CODES[dropped.kind]
        if not any(_hazard_covers(h, code, dropped) for h in hazards):
            missing.append(
                f"drops {dropped} but the plan did not mark it destructive "
                f"(expected a data-loss hazard {code} for it in the revision's schemactl_hazards)"
            )
    return missing


def _hazard_covers(hazard: Mapping[str, str], code: str, dropped: Dropped) -> bool:
    if hazard.get("kind") != "data loss" or hazard.get("code") != code:
        return False
    about = hazard.get("object", "").lower()
    parts = dropped.name.lower().split(".") if dropped.kind != "enum value" else [
        dropped.name.split(".", 1)[0].lower(), dropped.name.split(".", 1)[1].lower()]
    return all(re.search(rf"(?<!\w){re.escape(p)}(?!\w)", about) for p in parts)


# --- helpers ------------------------------------------------------------------------------


def _problem(revision: str, sql: str, why: str) -> str:
    return f"revision {revision}: {why}\n  statement: {_one_line(sql)}"


def _one_line(sql: str, limit: int = 300) -> str:
    flat = " ".join(sql.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _first_line(text: str) -> str:
    # sqlglot's messages carry an ANSI-highlighted excerpt on later lines; keep the reason.
    return re.sub(r"\x1b\[[0-9;]*m", "", text.strip().splitlines()[0] if text.strip() else text)


def _quiet_sqlglot() -> None:
    # sqlglot logs a warning for every opaque command; we report those ourselves.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
