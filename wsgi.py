"""The WSGI entry point for any server: ``gunicorn wsgi:app``.

Settings come from ``FEEDS_*`` variables and ``[tool.feeds]`` in ./pyproject.toml.
"""

import os
from pathlib import Path

from feeds.config import load_settings
from feeds.web import create_app

app = create_app(load_settings(environ=os.environ, pyproject=Path.cwd() / "pyproject.toml"))
