"""Texts the plan prints whatever it compared, light enough for a plan that compares nothing
(cli/plan_cmds.py answers a known "No changes." without loading render/human.py)."""

from __future__ import annotations

from typing import Any

NO_CHANGES = "No changes. The schema matches the migrations."
NO_CHANGES_AGAINST = "No changes. The schema matches the database."

# An empty Plan's as_dict() (plan/build.py); tests/test_plan_cache.py checks they agree.
EMPTY_PLAN: dict[str, Any] = {"changes": False, "add": 0, "change": 0, "drop": 0, "steps": [],
                              "left_alone": [], "not_compared": []}
