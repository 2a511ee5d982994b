"""Run the app under gunicorn, a production WSGI server, from the ``feeds serve`` command."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from .catalogue import OPML_PATH
from .clock import utc_now
from .config import Settings
from .errors import FeedsError, Refusal
from .index import MEMORY, open_index
from .logs import gunicorn_logger
from .processes import end_with_parent
from .watch import changes
from .web import create_app
from .websub import hub as websub
from .websub.links import hub_urls
from .websub.store import Store, store_path

log = logging.getLogger(__name__)


class _Arbiter(Arbiter):  # type: ignore[misc]
    """Ctrl-C stops gracefully, as SIGTERM does: each worker finishes the response it is
    sending, then exits (gunicorn's own SIGINT cuts responses off mid-write)."""

    def handle_int(self) -> None:
        self.handle_term()


def _ignore_ctrl_c(worker: Any) -> None:
    """A worker leaves SIGINT to the master: Ctrl-C in a terminal reaches every process of
    the job, and the master then stops the workers gracefully."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # newer settings are skipped on older gunicorns
                self.cfg.set(key, value)

    def load(self) -> Any:
        return create_app(self.settings, scan=False)  # the watcher process scans

    def run(self) -> None:
        try:
            _Arbiter(self).run()
        except RuntimeError as err:  # as gunicorn's own run(): a bad setting, say
            log.error("%s", err)
            sys.exit(2)


THREADS = 8
"""Threads of each worker process."""


def check_port(host: str, port: int) -> None:
    """Refuse, before anything is started, an address that cannot be listened on (a port in
    use, an address not of this machine). Raises Refusal."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
            probe.bind((host, port))
    except OSError as err:
        shown = f"[{host}]" if ":" in host else host
        raise Refusal(f"cannot listen on {shown}:{port}: {err.strerror or err}") from None


def run(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    echo: Callable[[str], None] = print,
    config: str | None = None,
) -> None:
    """Serve until interrupted. One process watches the corpus into the index; the workers
    read the index, so their memory does not grow with the corpus."""
    if settings.base_url == Settings().base_url:
        shown = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host
        shown = f"[{shown}]" if ":" in shown else shown
        settings = replace(settings, base_url=f"http://{shown}:{port}/")
    # What cannot be opened stops us here, before the banner, in one line; and the
    # processes started below find the index made.
    if settings.index not in ("memory", MEMORY):
        open_index(settings).close()
    if settings.hub or settings.hubs:
        Store(store_path(settings)).close()
    base = settings.base_url
    echo(f"Serving {settings.corpus} at {base} with {workers} workers (Ctrl-C stops)")
    echo(f"  index  {base}")
    echo(f"  OPML   {base}{OPML_PATH.lstrip('/')}")
    echo(f"  feeds  {base}feeds/all.rss, .atom, .json and {base}feeds/<topic>.rss, ...")
    echo(f"  pages  {base}feeds/all.html and {base}feeds/<topic>.html, ...")
    if config is not None:
        echo(f"  config {config}")
    if settings.hub or settings.hubs:
        echo(f"  hubs   {', '.join(hub_urls(settings))} (WebSub)")
    scratch = None
    if settings.index in ("memory", MEMORY):  # one index for every process, kept no longer
        scratch = tempfile.mkdtemp(prefix="feeds-serve-")
        # The hub's store is kept, where it is without the scratch index: named before.
        index = str(Path(scratch) / "index.sqlite3")
        settings = replace(settings, index=index, hub_store=str(store_path(settings)))
        open_index(settings).close()
    server = os.getpid()
    # The first scan runs in a child process: the memory it takes for a large corpus is
    # then returned, not inherited by every worker this process forks. The server listens
    # meanwhile, answering 503 (and /healthz "starting") until the index holds the corpus.
    reader = _in_child("first reading", lambda: _index_once(settings, echo, server))
    watcher = _in_child("corpus watcher", lambda: watch_corpus(settings, server))
    try:
        _serve(settings, host, port, workers)
    finally:
        if os.getpid() == server:  # gunicorn's workers leave through here too, forked
            for child in (reader, watcher):
                with contextlib.suppress(ProcessLookupError):  # gone with a signal to all of us
                    os.kill(child, signal.SIGTERM)
                with contextlib.suppress(ChildProcessError):  # reaped by gunicorn already
                    os.waitpid(child, 0)
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)


def _in_child(name: str, work: Callable[[], None]) -> int:
    """Run ``work`` in a forked child process and return its pid; the log says why it
    stopped, if it fails. Called before gunicorn starts, while this process has one
    thread, so the child inherits no held lock."""
    pid = os.fork()
    if pid == 0:
        status = 0
        try:
            work()
        except FeedsError as err:
            log.error("the server's %s stopped: %s", name, err)
            status = 1
        except Exception:  # the edge of this process: said, never lost with it
            log.exception("the server's %s stopped", name)
            status = 1
        finally:
            os._exit(status)
    return pid


def _index_once(settings: Settings, echo: Callable[[str], None], parent: int) -> None:
    """Read the corpus into an empty index while the server starts; an index that holds the
    corpus already is served at once, and the watcher takes up what changed since."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the server, which stops us
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    end_with_parent(parent)
    index = open_index(settings)
    try:
        if index.ready:
            echo(f"  corpus {index.file_count()} files indexed; changes since the last run are taken up now")
            return
        started = time.monotonic()
        refresh = index.refresh()
        bad = sum(1 for problem in refresh.problems if not problem.warning)
        echo(
            f"  corpus {index.file_count()} files read in {time.monotonic() - started:.1f} s"
            + (f", {bad} bad (see 'feeds check')" if bad else "")
        )
    finally:
        index.close()


FIRST_READING_LOOK = 0.1
"""Seconds between two looks of the watcher at whether the first reading is done."""


def watch_corpus(settings: Settings, parent: int) -> None:
    """The server's one corpus watcher, in a process of its own: it takes each change of the
    corpus into the index (learnt from change notices, or by polling, see
    :mod:`feeds.watch`); the workers only read the index. It stops with the server
    (SIGTERM), or when the server is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the server, which stops us
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    index = open_index(settings)
    stop = threading.Event()
    if not end_with_parent(parent):
        threading.Thread(target=_stop_when_orphaned, args=(parent, stop), daemon=True).start()
    # The first reading is another process's: what the hub starts from is the whole corpus.
    while not index.ready and not stop.wait(FIRST_READING_LOOK):
        pass
    if os.getppid() != parent:
        return
    websub.start(settings, index, utc_now)  # pings and the built-in hub, if set: in this process only
    for paths in changes(settings.corpus, settings.watcher, settings.watch_interval, stop):
        try:
            refresh = index.refresh(paths=paths)
        except FeedsError as err:  # an unreadable corpus folder, say: told, and watched on
            log.error("%s; the index keeps the previous version", err)
            continue
        except Exception:  # the edge of this process: log, and keep watching
            log.exception("corpus refresh failed; the index keeps the previous version")
            continue
        for problem in refresh.problems:
            log.warning("%s", problem)
        if refresh.changed:
            log.info(
                "corpus changed: %d files read again, %d gone; feeds republished",
                refresh.read,
                refresh.removed,
            )


def _stop_when_orphaned(parent: int, stop: threading.Event) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    stop.set()


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    _Server(
        settings,
        {
            "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
            "workers": workers,
            # Threads, not one connection per worker: an idle or slow client holds a
            # thread, not the whole worker, and pollers may keep their connections alive.
            "worker_class": "gthread",
            "threads": THREADS,
            "post_worker_init": _ignore_ctrl_c,
            "accesslog": "-",
            "logger_class": gunicorn_logger(),
            "loglevel": settings.log_level,
            "proc_name": "feeds",
            # One control socket per user (~/.gunicorn/gunicorn.ctl) would be shared by every
            # server this user runs; feeds serve needs none.
            "control_socket_disable": True,
            "graceful_timeout": 5,
            "limit_request_line": 4094,
            "limit_request_fields": 50,
            "limit_request_field_size": 8190,
        },
    ).run()
