"""The ``feeds`` command. User errors leave as ``Error: …`` and exit status 1 or 2."""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .clock import utc_now
from .config import Settings, load_settings
from .corpus import ITEM_SUFFIXES
from .errors import FeedsError
from .index import Survey, open_index

if TYPE_CHECKING:
    from .export import ExportReport

F = TypeVar("F", bound=Callable[..., Any])

corpus_argument = click.argument("corpus", required=False, type=click.Path(file_okay=False, path_type=Path))


def site_options(command: F) -> F:
    """Flags for the settings that shape published documents (see the README's table)."""
    options = [
        click.option("--base-url", help="Absolute URL the feeds are published under."),
        click.option("--site-title", help="Title of the site and prefix of feed titles."),
        click.option("--site-description", help="One line about the site."),
        click.option("--language", help="BCP 47 language tag of the feeds, like en or pt-BR."),
        click.option("--feed-limit", help="Items in a feed by default."),
        click.option("--selections", help="Named heat selections, like hot=50,top=80."),
        click.option("--hub-url", "hubs", multiple=True, help="A WebSub hub to name and ping (repeatable)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def resolve_settings(corpus: Path | None, **flags: Any) -> Settings:
    """Flags, then FEEDS_* variables, then [tool.feeds] in ./pyproject.toml, then defaults."""
    flags["corpus"] = corpus
    for name, value in flags.items():
        if value == () or value is False:  # a repeatable or on/off flag not given
            flags[name] = None
    try:
        return load_settings(flags, os.environ, Path.cwd() / "pyproject.toml")
    except FeedsError as err:
        raise click.ClickException(str(err)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="feeds")
def main() -> None:
    """Publish a folder of news items as RSS, Atom and JSON Feed.

    CORPUS is a folder of item files; it defaults to the bundled sample, seeds/.
    """


@main.command()
@corpus_argument
def check(corpus: Path | None) -> None:
    """Read the whole corpus and report every problem.

    Prints each error (to stderr) and warning (to stdout) as path:line: message, then a
    summary. Exits with status 1 when any file is rejected, 0 otherwise.
    """
    root, survey = _survey(corpus)
    for problem in survey.problems:
        click.echo(str(problem), err=not problem.warning)
    if not survey.files:
        suffixes = ", ".join(f"*{suffix}" for suffix in sorted(ITEM_SUFFIXES))
        click.echo(f"{root}: warning: no item files ({suffixes}) in this folder")
    for collision in survey.topics.collisions:
        click.echo(f"warning: {collision}")
    click.echo(
        f"{survey.files} files, {survey.items} items, {survey.published} published, "
        f"{survey.rejected} rejected, {len(survey.topics)} topics"
    )
    if survey.rejected:
        raise SystemExit(1)


@main.command()
@corpus_argument
def topics(corpus: Path | None) -> None:
    """List each topic with its slug and number of published items.

    Only items published by now count. Rejected files are counted on stderr; `feeds check`
    tells why.
    """
    _, survey = _survey(corpus)
    if survey.rejected:
        click.echo(f"{survey.rejected} of {survey.files} files rejected; 'feeds check' tells why", err=True)
    index = survey.topics
    width = max((len(topic.slug) for topic in index), default=4)
    click.echo(f"{'SLUG':<{width}}  {'ITEMS':>5}  NAME")
    for topic in index:
        click.echo(f"{topic.slug:<{width}}  {topic.count:>5}  {topic.name}")


def _survey(corpus: Path | None) -> tuple[Path, Survey]:
    """The corpus of ``check`` and ``topics``, read through its index (only changed files are
    read again, the rest in parallel); a missing folder is a user error."""
    settings = resolve_settings(corpus)
    try:
        index = open_index(settings)
        try:
            index.refresh()
            return settings.corpus, index.recovering(lambda: index.survey(utc_now()))
        finally:
            index.close()
    except FeedsError as err:
        raise click.ClickException(str(err)) from None


@main.command()
@corpus_argument
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--cache-max-age", help="Seconds clients may reuse a feed (Cache-Control max-age).")
@click.option("--watch-interval", help="Seconds between two looks at every file, where the corpus is polled.")
@click.option("--watcher", help="How the corpus is watched: auto, notify or poll.")
@click.option("--hub", is_flag=True, default=None, help="Be a WebSub hub of these feeds, at /websub.")
@site_options
def serve(corpus: Path | None, host: str, port: int, workers: int, **flags: Any) -> None:
    """Serve the feeds over HTTP with a production WSGI server (gunicorn).

    CORPUS defaults to the bundled seeds/. The corpus is watched: changed, added and
    removed files show within seconds. Stop with Ctrl-C.
    """
    from .server import run

    settings = resolve_settings(corpus, **flags)
    if not settings.corpus.is_dir():
        raise click.ClickException(f"corpus folder not found: {settings.corpus}")
    _configure_logging()
    try:
        run(settings, host=host, port=port, workers=workers, echo=click.echo)
    except FeedsError as err:
        raise click.ClickException(str(err)) from None


@main.command()
@click.argument("paths", nargs=-1, metavar="[CORPUS] OUT", type=click.Path(file_okay=False, path_type=Path))
@click.option("--gzip", "gzip_too", is_flag=True, help="Also write precompressed .gz files beside them.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors (for cron).")
@click.option("--no-ping", is_flag=True, help="Do not tell the hubs of the feeds that changed.")
@click.option("--watch", is_flag=True, help="Stay running and export again after each change of the corpus.")
@click.option("--watcher", help="How --watch learns of changes: auto, notify or poll.")
@click.option("--watch-interval", help="Seconds between two looks at every file, where --watch polls.")
@site_options
def export(
    paths: tuple[Path, ...], gzip_too: bool, quiet: bool, no_ping: bool, watch: bool, **flags: Any
) -> None:
    """Write every feed, its page, the index page and the OPML file under OUT as static files.

    Paths equal the server's URL paths (/ is index.html), and so do the bytes. Only
    changed files are written; files of feeds that no longer exist are removed; nothing
    else in OUT is touched. Exits with status 1 if any file could not be written. With
    --watch it stays running, exports again after each change (one line a round) and
    exits 0 on Ctrl-C.
    """
    from .export import Progress, export_site

    if len(paths) not in {1, 2}:
        raise click.UsageError(f"expected [CORPUS] OUT, got {len(paths)} paths")
    corpus: Path | None = paths[0] if len(paths) == 2 else None
    out = paths[-1]
    settings = resolve_settings(corpus, **flags)
    ping = bool(settings.hubs) and not no_ping
    if watch:
        _export_rounds(settings, out, gzip_too=gzip_too, quiet=quiet, ping=ping)
        return
    progress: Progress = nullcontext
    if not quiet and sys.stderr.isatty():
        progress = functools.partial(click.progressbar, label="Exporting", file=sys.stderr)  # type: ignore[assignment]
    try:
        report = export_site(settings, out, now=utc_now(), gzip_too=gzip_too, progress=progress)
    except FeedsError as err:
        raise click.ClickException(str(err)) from None
    _echo_problems(report, quiet=quiet)
    if not quiet:
        for name in report.removed:
            click.echo(f"removed {name} (no longer exported)")
        click.echo(report.summary())
    if ping:
        _ping(settings, report.written, quiet=quiet)
    if report.failures:
        raise SystemExit(1)


def _export_rounds(settings: Settings, out: Path, *, gzip_too: bool, quiet: bool, ping: bool) -> None:
    """``feeds export --watch``: a round after each change of the corpus, until Ctrl-C."""
    from .export import Exporter
    from .watch import changes

    _configure_logging()
    stop = threading.Event()
    try:
        exporter = Exporter(settings, out, gzip_too=gzip_too)
    except FeedsError as err:
        raise click.ClickException(str(err)) from None
    try:
        for paths in changes(settings.corpus, settings.watcher, settings.watch_interval, stop):
            started = time.monotonic()
            try:
                report = exporter.round(utc_now(), paths)
            except FeedsError as err:  # another export into OUT at the moment, say: next round
                click.echo(f"Error: {err}", err=True)
                continue
            _echo_problems(report, quiet=quiet)
            if not quiet or report.failures:
                click.echo(f"{utc_now():%H:%M:%S} {report.summary()} ({time.monotonic() - started:.2f} s)")
            if ping and report.written:
                _ping(settings, report.written, quiet=True)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        exporter.close()


def _echo_problems(report: ExportReport, *, quiet: bool) -> None:
    """On stderr: the problems of the corpus (errors only, if ``quiet``) and the files that
    could not be written."""
    for problem in report.problems:
        if not (quiet and problem.warning):
            click.echo(str(problem), err=True)
    for failure in report.failures:
        click.echo(f"error: {failure}", err=True)


EXPORT_PING_WAIT = 5.0
"""Seconds an export waits for the hubs at most; it says which it gave up on."""


def _ping(settings: Settings, written: list[str], *, quiet: bool) -> None:
    """Tell the hubs of the feeds whose files were written; a hub that fails is a warning."""
    from .websub.links import written_topics
    from .websub.ping import Pinger

    topics = written_topics(settings, written)
    if not topics:
        return
    pinger = Pinger(settings.hubs, batch=settings.ping_batch)
    pinger.ping(topics)
    problems = pinger.wait(EXPORT_PING_WAIT)
    for problem in problems:
        click.echo(f"warning: hub {problem}", err=True)
    if not quiet and not problems:
        click.echo(f"told {len(settings.hubs)} hubs of {len(topics)} changed feeds")


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
