"""``feeds cache``: the index files of the user's cache folder, and pruning them."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from .options import common_options, resolve_settings

if TYPE_CHECKING:
    from ..index.cache import CachedIndex

DAY = 86_400


@click.group(invoke_without_command=True)
@common_options
@click.pass_context
def cache(context: click.Context, /, **options: Any) -> None:
    """List the index files of the cache folder: corpus, size and last use.

    The cache folder is $XDG_CACHE_HOME/feeds, else ~/.cache/feeds. An index is a cache:
    removing one costs a full reading of its corpus. One that a running process has open is
    never removed.
    """
    from ..index.cache import cached_indexes
    from ..index.location import cache_folder

    if context.invoked_subcommand is not None:
        return  # the subcommand resolves its own settings: each warning said once
    resolve_settings(None, sample_notice=False, **options)
    indexes = cached_indexes()
    click.echo(f"{cache_folder()}: {len(indexes)} indexes, {_size(sum(i.size for i in indexes))}")
    for index in indexes:
        used = datetime.fromtimestamp(index.last_use, UTC).strftime("%Y-%m-%d %H:%M")
        notes = ("in use" if index.in_use else "", "" if index.corpus_exists else "corpus gone")
        note = ", ".join(filter(None, notes))
        click.echo(
            f"{index.path.name}  {_size(index.size):>8}  {used}  {index.corpus or '?'}"
            + (f"  ({note})" if note else "")
        )


@cache.command()
@click.option(
    "--days",
    type=click.IntRange(0, 36_500),
    default=30,
    show_default=True,
    help="Remove the indexes not used for this many days.",
)
@common_options
def prune(days: int, **options: Any) -> None:
    """Remove the indexes not used for DAYS days, and those whose corpus folder is gone."""
    from ..index.cache import cached_indexes

    resolve_settings(None, sample_notice=False, **options)
    cutoff = time.time() - days * DAY  # the edge of the command: the clock is read here
    _remove([i for i in cached_indexes() if i.last_use < cutoff or not i.corpus_exists])


@cache.command()
@common_options
def clear(**options: Any) -> None:
    """Remove every index of the cache folder (each is built again when next needed)."""
    from ..index.cache import cached_indexes

    resolve_settings(None, sample_notice=False, **options)
    _remove(cached_indexes())


def _remove(indexes: list[CachedIndex]) -> None:
    from ..index.cache import remove_index

    freed = kept = 0
    for index in indexes:
        if remove_index(index):
            freed += index.size
            click.echo(f"removed {index.path.name} ({index.corpus or '?'})")
        else:
            kept += 1
            click.echo(f"kept {index.path.name}: a running process has it open")
    click.echo(f"{len(indexes) - kept} removed, {kept} kept, {_size(freed)} freed")


def _size(count: int) -> str:
    if count < 1000:
        return f"{count} B"
    amount = float(count)
    for unit in ("kB", "MB", "GB"):
        amount /= 1000
        if amount < 1000 or unit == "GB":
            break
    return f"{amount:.1f} {unit}"
