"""Renderers: human plan text, revision files, offline SQL (checked with sqlglot)."""
