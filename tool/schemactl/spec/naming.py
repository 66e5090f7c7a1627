"""The one naming convention for constraints and indexes.

Names follow PostgreSQL's own defaults (users_pkey, users_email_key, posts_user_id_fkey,
posts_user_id_date_posted_idx), so a schema created by hand and one created by schemactl
look the same. PostgreSQL silently truncates identifiers to 63 bytes; a generated name
that would be longer is shortened deterministically: a prefix plus a hash of the full name.
"""

from __future__ import annotations

import hashlib

MAX_IDENTIFIER_BYTES = 63
_HASH_LEN = 8


def fits(name: str) -> bool:
    return len(name.encode("utf-8")) <= MAX_IDENTIFIER_BYTES


def shorten(name: str) -> str:
    """name if it fits in 63 bytes, else a stable prefix + '_' + 8 hex digits of its hash."""
    if fits(name):
        return name
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:_HASH_LEN]
    budget = MAX_IDENTIFIER_BYTES - _HASH_LEN - 1
    prefix = name.encode("utf-8")[:budget].decode("utf-8", errors="ignore").rstrip("_")
    return f"{prefix}_{digest}"


def _join(table: str, parts: tuple[str, ...] | list[str], suffix: str) -> str:
    return shorten("_".join([table, *parts, suffix]))


def primary_key_name(table: str) -> str:
    return _join(table, [], "pkey")


def unique_name(table: str, columns: tuple[str, ...] | list[str]) -> str:
    return _join(table, columns, "key")


def foreign_key_name(table: str, columns: tuple[str, ...] | list[str]) -> str:
    return _join(table, columns, "fkey")


def exclusion_name(table: str, keys: tuple[str, ...] | list[str]) -> str:
    """PostgreSQL's own default for EXCLUDE: <table>_<keys>_excl."""
    return _join(table, keys, "excl")


def index_name(table: str, keys: tuple[str, ...] | list[str]) -> str:
    """keys: column names, and for an expression the identifiers it uses (or 'expr')."""
    return _join(table, keys, "idx")

