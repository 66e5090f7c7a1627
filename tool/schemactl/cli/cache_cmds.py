"""Commands: cache list, cache clear (what plan keeps between runs)."""

from __future__ import annotations

from schemactl.cli.common import Context, echo, handle_errors, main, pass_context


@main.group()
def cache() -> None:
    """What plan keeps between runs, to rebuild nothing it already knows.

    The shadow at head of each migration history, as a database on the shadow server
    named <SHADOW_DATABASE_PREFIX>_cache_<hash>, the desired catalog of each version
    of schema/, and which pairs of schema/ and history a plan found equal ("No changes."),
    in .schemactl/cache/. Entries are keyed by content hashes: a changed file is never
    served from the cache. `plan --no-cache` uses none of it.
    """


@cache.command("list")
@pass_context
@handle_errors
def list_(ctx: Context) -> None:
    """List the kept shadows (name, size) and the desired catalogs of this project."""
    from schemactl.db.throwaway import check_prefix
    from schemactl.diff import desired_cache, shadow_cache
    from schemactl.settings import shadow_server_url

    project, settings = ctx.project(), ctx.settings()
    prefix = check_prefix(settings.shadow_database_prefix)
    shadows = shadow_cache.entries(shadow_server_url(settings, project.root), prefix)
    desired = desired_cache.entries(project)
    for entry in shadows:
        echo(f"shadow   {entry.name}  {entry.size}")
    for name, size in desired:
        echo(f"desired  {name}  {size} bytes")
    echo(f"{len(shadows)} kept shadows, {len(desired)} desired catalogs.")


@cache.command()
@pass_context
@handle_errors
def clear(ctx: Context) -> None:
    """Drop the kept shadows of the prefix and remove this project's desired catalogs."""
    from schemactl.db.throwaway import check_prefix
    from schemactl.diff import desired_cache, noop_cache, shadow_cache
    from schemactl.settings import shadow_server_url

    project, settings = ctx.project(), ctx.settings()
    prefix = check_prefix(settings.shadow_database_prefix)
    shadows = shadow_cache.clear(shadow_server_url(settings, project.root), prefix)
    desired = desired_cache.clear(project)
    noop_cache.clear(project)  # what they proved: also forgotten
    echo(f"Removed {len(shadows)} kept shadows and {len(desired)} desired catalogs.")
