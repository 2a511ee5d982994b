"""The ``feeds`` group: its commands, and how every one of them ends.

A command ends with its exit status and, if it refused or failed, one line on stderr,
never a traceback: 0 fine; 1 problems found; 2 a usage, configuration or safety refusal;
130 interrupted.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, NoReturn

import click

from ..errors import FeedsError, printable
from .cache import cache
from .corpus import check, topics
from .export import export
from .init import init
from .options import configure_early
from .serve import serve

log = logging.getLogger("feeds")

EXIT_STATUS = """\b
Exit status:
  0    fine
  1    problems found: bad corpus files (check, or export --strict), files not written
  2    a usage, configuration or safety refusal, told in one line on stderr
  130  interrupted (Ctrl-C)"""

INTERRUPTED = 130


class FeedsGroup(click.Group):
    """A group whose commands end as the module says."""

    def main(self, *args: Any, **kwargs: Any) -> NoReturn:
        configure_early()
        kwargs["standalone_mode"] = False
        try:
            status = super().main(*args, **kwargs)
        except click.exceptions.Exit as done:
            sys.exit(done.exit_code)
        except click.ClickException as err:  # a usage error: one line, and where help is
            where = (
                f" (see '{err.ctx.command_path} --help')"
                if isinstance(err, click.UsageError) and err.ctx
                else ""
            )
            log.error("%s%s", err.format_message(), where)
            sys.exit(2)
        except (click.Abort, KeyboardInterrupt):
            log.error("interrupted; every file is as it was or whole and new")
            sys.exit(INTERRUPTED)
        except FeedsError as err:
            log.error("%s", err)
            sys.exit(err.exit_code)
        except OSError as err:  # a path the operator gave that the system refuses
            where = f"{printable(str(err.filename))}: " if err.filename else ""
            log.error("%s%s", where, err.strerror or err)
            sys.exit(2)
        sys.exit(status if isinstance(status, int) else 0)


@click.group(
    cls=FeedsGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_STATUS,
)
@click.version_option(package_name="feeds")
def main() -> None:
    """Publish a folder of news items as RSS, Atom and JSON Feed.

    CORPUS is a folder of item files: the argument, else the configuration's corpus, else
    the bundled sample (which a command then names on stderr). The configuration is
    --config, else FEEDS_CONFIG, else the nearest pyproject.toml with a [tool.feeds]
    table, from the current folder upwards.
    """


for command in (init, check, topics, serve, export, cache):
    command.epilog = EXIT_STATUS
    main.add_command(command)
