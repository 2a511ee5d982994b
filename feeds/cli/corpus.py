"""``feeds check`` and ``feeds topics``: a corpus read through its index and reported."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import ItemError
from .options import common_options, config_path, config_used, corpus_argument, resolve_settings

if TYPE_CHECKING:
    from ..index import Survey

log = logging.getLogger("feeds")


@click.command()
@corpus_argument
@click.option("--json", "as_json", is_flag=True, help="Print one JSON report instead of lines.")
@common_options
def check(corpus: Path | None, as_json: bool, **options: Any) -> None:
    """Read the whole corpus and report every problem of every file.

    Prints each problem as path:line: message (errors and warnings alike), the
    configuration it used, then a summary, all on stdout; with --json, one JSON report of
    the same. Exits with status 1 when any file is rejected, 0 otherwise.
    """
    from ..corpus import ITEM_SUFFIXES

    root, survey = _survey(corpus, **options)
    notes = [f"warning: {collision}" for collision in survey.topics.collisions]
    if not survey.files:
        suffixes = ", ".join(f"*{suffix}" for suffix in sorted(ITEM_SUFFIXES))
        notes.insert(0, f"{root}: warning: no item files ({suffixes}) in this folder")
    if as_json:
        click.echo(json.dumps(_report(root, survey, notes), indent=1, ensure_ascii=False))
    else:
        for problem in survey.problems:
            click.echo(str(problem))
        for note in notes:
            click.echo(note)
        click.echo(f"configuration: {config_used()}")
        click.echo(
            f"{survey.files} files, {survey.items} items, {survey.published} published, "
            f"{survey.rejected} rejected, {len(survey.topics)} topics"
        )
        if survey.told:
            click.echo(_stories_line(survey))
    if survey.rejected:
        raise SystemExit(1)


def _stories_line(survey: Survey) -> str:
    """How many published items were collapsed into how many stories."""
    stories = "1 story" if survey.stories == 1 else f"{survey.stories} stories"
    return f"{survey.told} published items are {stories} told more than once, each shown as one item"


def _report(root: Path, survey: Survey, notes: list[str]) -> dict[str, Any]:
    """``feeds check --json``: the files with problems, each problem with its line, field
    and message, then the totals."""
    files: dict[str, list[dict[str, Any]]] = {}
    for problem in survey.problems:
        files.setdefault(str(problem.path), []).append(_problem(problem))
    return {
        "corpus": str(root),
        "configuration": None if config_path() is None else str(config_path()),
        "files": [{"path": path, "problems": problems} for path, problems in files.items()],
        "notes": notes,
        "totals": {
            "files": survey.files,
            "items": survey.items,
            "published": survey.published,
            "rejected": survey.rejected,
            "errors": sum(1 for problem in survey.problems if not problem.warning),
            "warnings": sum(1 for problem in survey.problems if problem.warning),
            "topics": len(survey.topics),
            "told": survey.told,
            "stories": survey.stories,
        },
    }


def _problem(problem: ItemError) -> dict[str, Any]:
    return {
        "line": problem.line,
        "field": problem.field,
        "severity": "warning" if problem.warning else "error",
        "message": problem.message,
    }


@click.command()
@corpus_argument
@common_options
def topics(corpus: Path | None, **options: Any) -> None:
    """List each topic with its slug and number of published items.

    Only items published by now count. Rejected files are counted on stderr; `feeds check`
    tells why.
    """
    _, survey = _survey(corpus, **options)
    if survey.rejected:
        log.warning("%d of %d files rejected; 'feeds check' tells why", survey.rejected, survey.files)
    index = survey.topics
    width = max((len(topic.slug) for topic in index), default=4)
    click.echo(f"{'SLUG':<{width}}  {'ITEMS':>5}  NAME")
    for topic in index:
        click.echo(f"{topic.slug:<{width}}  {topic.count:>5}  {topic.name}")
    if survey.told:
        click.echo(_stories_line(survey))


def _survey(corpus: Path | None, **options: Any) -> tuple[Path, Survey]:
    """The corpus of ``check`` and ``topics``, read through its index (only changed files are
    read again, the rest in parallel)."""
    from ..clock import utc_now
    from ..index import open_index, with_usable_index

    settings = with_usable_index(resolve_settings(corpus, **options))
    index = open_index(settings)
    try:
        index.refresh()
        return settings.corpus, index.recovering(lambda: index.survey(utc_now(), settings.collapsing))
    finally:
        index.close()
