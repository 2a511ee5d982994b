"""The WSGI entry point for any server: ``gunicorn wsgi:app``.

Settings come from ``FEEDS_*`` variables and ``[tool.feeds]`` in ./pyproject.toml.
"""

import logging
import os
from dataclasses import replace
from pathlib import Path

from feeds.config import load_settings
from feeds.web import create_app

settings = load_settings(environ=os.environ, pyproject=Path.cwd() / "pyproject.toml")
# Pings and the built-in hub's work run in the one watcher process of `feeds serve`, which
# no other server has: no feed names a hub that would never answer.
if settings.hub:
    logging.getLogger("feeds").warning("hub: the built-in WebSub hub runs only under `feeds serve`; off here")
    settings = replace(settings, hub=False)
if settings.hubs:
    logging.getLogger("feeds").warning("hubs: named in the feeds, but only `feeds serve` pings them")
app = create_app(settings)
