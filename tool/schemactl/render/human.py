"""Plan -> the text a person reviews: Terraform-style, grouped by table."""

from __future__ import annotations

from schemactl.diff.catalog import display_table
from schemactl.ignore import FILE_NAME, Sorted
from schemactl.plan.build import Plan, Step
from schemactl.plan.locks import describe
from schemactl.render.texts import NO_CHANGES as NO_CHANGES
from schemactl.render.texts import NO_CHANGES_AGAINST as NO_CHANGES_AGAINST


def render_left(left: Sorted) -> str:
    """What a comparison with a live database did not compare, in two sections: what the
    ignore list leaves alone, and what the YAML cannot express (empty text: nothing)."""
    lines = []
    if left.left_alone:
        lines.append(f"Left alone ({FILE_NAME}):")
        lines += [f"  {item}" for item in left.left_alone]
    if left.not_compared:
        lines.append("Not compared (the YAML cannot express these):")
        lines += [f"  {item}" for item in left.not_compared]
        lines.append(f"  (to leave them alone on purpose, name them in {FILE_NAME}; "
                     "see docs/ignore-list.md)")
    return "\n".join(lines)


def no_changes_against(left: Sorted) -> str:
    """"No changes" against a live database, saying how much it did not compare."""
    parts = []
    if left.left_alone:
        n = len(left.left_alone)
        parts.append(f"{n} object{'s' if n != 1 else ''} left alone")
    if left.not_compared:
        n = len(left.not_compared)
        parts.append(f"{n} object{'s' if n != 1 else ''} not compared")
    if not parts:
        return NO_CHANGES_AGAINST
    return f"No changes ({', '.join(parts)}, listed above)."


def _line(step: Step, indent: str) -> list[str]:
    text = f"{indent}{step.action} {step.kind} {step.name}"
    if step.detail:
        text += f": {step.detail}"
    if step.statement is not None:  # a step on an existing table: its lock and cost
        size = f"; {step.table_size}" if step.table_size else ""
        text += f"  [{describe(step.statement)}{size}]"
    lines = [text]
    for hazard in step.hazards:
        lines.append(f"{indent}    ! {hazard.code} {hazard.kind.value}: {hazard.message}")
    return lines


def render_plan(plan: Plan, no_changes: str = NO_CHANGES) -> str:
    if not plan.has_changes:
        return no_changes
    lines = ["schemactl will perform the following actions:", ""]
    # One group per table (and one for schema-level objects), in order of first appearance;
    # the revision file keeps the exact order in which the steps run.
    groups: dict[tuple[str, str | None], list[Step]] = {}
    for step in plan.steps:
        groups.setdefault((step.schema, step.table), []).append(step)
    for (schema, table), steps in groups.items():
        if table is None:
            lines += [line for step in steps for line in _line(step, "  ")]
        else:
            whole = [s for s in steps if s.kind == "table" and s.action in ("+", "-")]
            if whole:  # a created or dropped table heads its own group
                lines += _line(whole[0], "  ")
                steps = [s for s in steps if s is not whole[0]]
            else:
                lines.append(f"  table {display_table(schema, table)}")
            lines += [line for step in steps for line in _line(step, "    ")]
        lines.append("")
    add, change, drop = plan.counts()
    lines.append(f"Plan: {add} to add, {change} to change, {drop} to drop.")
    return "\n".join(lines)
