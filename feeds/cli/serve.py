"""``feeds serve``: the feeds over HTTP, checked before the banner says it serves."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from ..config import Settings
from .options import (
    common_options,
    config_used,
    corpus_argument,
    is_local_url,
    resolve_settings,
    setting_option,
    site_options,
    watch_options,
)

log = logging.getLogger("feeds")

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
ANY_ADDRESS = frozenset({"0.0.0.0", "::", ""})


@click.command()
@corpus_argument
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface)."
)
@click.option("--port", "-p", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@setting_option(
    "--cache-max-age",
    key="cache_max_age",
    type=click.IntRange(0, 31_536_000),
    help="Seconds clients may reuse a feed (Cache-Control: max-age).",
)
@watch_options("the server")
@setting_option(
    "--hub", key="hub", is_flag=True, default=None, help="Be a WebSub hub of these feeds, at /websub."
)
@site_options
@common_options
def serve(corpus: Path | None, host: str, port: int, workers: int, **flags: Any) -> None:
    """Serve the feeds over HTTP with a production WSGI server (gunicorn).

    CORPUS defaults to the bundled seeds/. The corpus is watched: changed, added and
    removed files show within seconds. Stop with Ctrl-C (exit status 0).
    """
    from ..corpus.files import check_folder
    from ..index import with_usable_index
    from ..server import check_port, run

    settings = with_usable_index(resolve_settings(corpus, **flags))
    check_folder(settings.corpus)
    check_port(host, port)
    public = host not in LOOPBACK_HOSTS and not host.startswith("127.")
    # Unset, the base URL is the address listened on, and that of "any address" is loopback's.
    unset = settings.base_url == Settings().base_url
    if public and (host in ANY_ADDRESS if unset else is_local_url(settings.base_url)):
        log.warning(
            "listening on %s, but the feeds link to a local address; set base_url to the address"
            " readers use (--base-url, FEEDS_BASE_URL)",
            host,
        )
    run(settings, host=host, port=port, workers=workers, echo=click.echo, config=config_used())
