"""``feeds export``: the feeds as static files, once or after every change of the corpus."""

from __future__ import annotations

import functools
import logging
import sys
import threading
import time
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..clock import utc_now
from ..config import Settings
from ..errors import FeedsError
from .options import (
    FOLDER,
    common_options,
    is_local_url,
    resolve_settings,
    setting_option,
    site_options,
    watch_options,
)

if TYPE_CHECKING:
    from ..export import ExportReport

log = logging.getLogger("feeds")

EXPORT_PING_WAIT = 5.0
"""Seconds an export waits for the hubs at most; it says which it gave up on."""


class FolderOrStore(click.ParamType):  # type: ignore[type-arg]
    """A folder, or (as OUT) an object store's ``s3://BUCKET/PREFIX``, kept as text."""

    name = "folder"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value[:5].lower() == "s3://":
            return value
        return FOLDER.convert(value, param, ctx)


@click.command()
@click.argument("paths", nargs=-1, metavar="[CORPUS] OUT", type=FolderOrStore())
@click.option("--gzip", "gzip_too", is_flag=True, help="Also write precompressed .gz files beside them.")
@click.option("--strict", is_flag=True, help="Write nothing, and exit 1, if any corpus file is bad.")
@click.option(
    "--force", is_flag=True, help="Export over another corpus's site, or remove more than max_deletes allows."
)
@setting_option(
    "--max-deletes",
    key="max_deletes",
    shown="50%",
    metavar="N|SHARE%",
    help="Files of the last export it may remove.",
)
@click.option("--no-ping", is_flag=True, help="Do not tell the hubs of the feeds that changed.")
@click.option("--dry-run", is_flag=True, help="List what would be written and removed; write nothing.")
@click.option("--watch", is_flag=True, help="Stay running and export again after each change of the corpus.")
@watch_options("--watch")
@site_options
@common_options
def export(
    paths: tuple[Path, ...],
    gzip_too: bool,
    quiet: bool,
    strict: bool,
    force: bool,
    no_ping: bool,
    dry_run: bool,
    watch: bool,
    **flags: Any,
) -> None:
    """Write every feed, its page, the index page and the OPML file under OUT as static files.

    CORPUS is the argument, else the configuration's corpus, else the bundled sample (said
    on stderr). Paths equal the server's URL paths (/ is index.html), and so do the bytes.
    Only changed files are written; files of feeds that no longer exist are removed;
    nothing else in OUT is touched. It refuses, writing nothing, an OUT that is, holds or is
    inside or above a corpus; an OUT exported from another corpus; and a round that would
    publish no item over a site that has some, or remove more than max_deletes of the last
    export's files (--force overrides these two). With --watch it stays running, exports
    again after each change (one line a round) and exits 0 on Ctrl-C.

    OUT may be an object store, s3://BUCKET/PREFIX (pip install 'feeds[s3]'), reached with
    the standard AWS settings (AWS_* variables, ~/.aws): the same files, each with its
    Content-Type and Cache-Control, uploaded only when changed, in an order that never
    breaks a link.
    """
    from ..export import Progress, export_site
    from ..index import with_usable_index

    if len(paths) not in {1, 2}:
        raise click.UsageError(f"expected [CORPUS] OUT, got {len(paths)} paths")
    corpus: Path | None = paths[0] if len(paths) == 2 else None
    if isinstance(corpus, str):
        raise click.UsageError(f"CORPUS is a folder, not {corpus}")
    if dry_run and watch:
        raise click.UsageError("--dry-run writes nothing, so it does not go with --watch")
    out: Path | str = paths[-1]
    if isinstance(out, str):
        from ..export.store import StoreAddress

        StoreAddress.parse(out)  # a malformed address is told before anything else
    settings = with_usable_index(resolve_settings(corpus, quiet=quiet, **flags))
    if is_local_url(settings.base_url):
        log.warning(
            "the feeds will link to %s, a local address no reader elsewhere can reach;"
            " set base_url (--base-url, FEEDS_BASE_URL) to where OUT is published",
            settings.base_url,
        )
    ping = bool(settings.hubs) and not no_ping and not dry_run
    options = {"gzip_too": gzip_too, "force": force, "strict": strict}
    if watch:
        _export_rounds(settings, out, quiet=quiet, ping=ping, **options)
        return
    progress: Progress = nullcontext
    if not quiet and sys.stderr.isatty():
        progress = functools.partial(click.progressbar, label="Exporting", file=sys.stderr)  # type: ignore[assignment]
    report = export_site(settings, out, now=utc_now(), progress=progress, dry_run=dry_run, **options)
    _log_problems(report, quiet=quiet)
    if dry_run:
        for name in report.written:
            click.echo(f"would write {name}")
        for name in report.removed:
            click.echo(f"would remove {name} (no longer exported)")
    elif not quiet:
        for name in report.removed:
            click.echo(f"removed {name} (no longer exported)")
    if not quiet or dry_run:
        click.echo(report.summary())
    if ping:
        _ping(settings, report.written, quiet=quiet)
    if report.failures:
        raise SystemExit(1)


def _export_rounds(settings: Settings, out: Path | str, *, quiet: bool, ping: bool, **options: bool) -> None:
    """``feeds export --watch``: a round after each change of the corpus, until Ctrl-C."""
    from ..export import Exporter
    from ..watch import changes

    stop = threading.Event()
    exporter = Exporter(settings, out, **options)
    try:
        for paths in changes(settings.corpus, settings.watcher, settings.watch_interval, stop):
            started = time.monotonic()
            try:
                report = exporter.round(utc_now(), paths)
            except FeedsError as err:  # another export into OUT, a guard: the next round may pass
                log.error("%s", err)
                continue
            _log_problems(report, quiet=quiet)
            if not quiet or report.failures:
                click.echo(f"{utc_now():%H:%M:%S} {report.summary()} ({time.monotonic() - started:.2f} s)")
            if ping and report.written:
                _ping(settings, report.written, quiet=True)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        exporter.close()


def _log_problems(report: ExportReport, *, quiet: bool) -> None:
    """On stderr: the problems of the corpus (errors only, if ``quiet``) and the files that
    could not be written."""
    for problem in report.problems:
        if problem.warning and not quiet:
            log.warning("%s", problem)
        elif not problem.warning:
            log.error("%s", problem)
    for failure in report.failures:
        log.error("not written: %s", failure)


def _ping(settings: Settings, written: list[str], *, quiet: bool) -> None:
    """Tell the hubs of the feeds whose files were written; a hub that fails is a warning."""
    from ..websub.links import written_topics
    from ..websub.ping import Pinger

    topics = written_topics(settings, written)
    if not topics:
        return
    pinger = Pinger(settings.hubs, batch=settings.ping_batch)
    pinger.ping(topics)
    problems = pinger.wait(EXPORT_PING_WAIT)
    for problem in problems:
        log.warning("hub %s", problem)
    if not quiet and not problems:
        click.echo(f"told {len(settings.hubs)} hubs of {len(topics)} changed feeds")
