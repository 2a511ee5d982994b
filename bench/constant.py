"""The baseline server app: a constant body of ``BENCH_BODY_SIZE`` bytes with an ETag, and
304 when it is asked for with that ETag. Run under the same gunicorn as ``feeds serve``:

    BENCH_BODY_SIZE=20000 gunicorn --workers 2 bench.constant:app
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

BODY = b"x" * int(os.environ.get("BENCH_BODY_SIZE", "20000"))
ETAG = '"constant"'


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("HTTP_IF_NONE_MATCH") == ETAG:
        start_response("304 Not Modified", [("ETag", ETAG)])
        return [b""]
    start_response(
        "200 OK",
        [("Content-Type", "application/rss+xml"), ("Content-Length", str(len(BODY))), ("ETag", ETAG)],
    )
    return [BODY]
