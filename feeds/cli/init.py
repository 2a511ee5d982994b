"""``feeds init``: a starter folder of one's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .options import common_options, resolve_settings


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, readable=False, path_type=Path))
@common_options
def init(folder: Path, **options: Any) -> None:
    """Make a starter in FOLDER: example items in one topic, in the corpus format, and a
    pyproject.toml with a [tool.feeds] table that lists every setting at its default.

    FOLDER must be missing or empty; anything else is refused, and nothing is written.
    """
    from ..starter import make_starter

    resolve_settings(folder, sample_notice=False, **options)  # the log, as every command sets it
    made = make_starter(folder)
    for path in made:
        click.echo(f"made {path}")
    click.echo(f"next: feeds check {folder}, then feeds serve {folder}")
