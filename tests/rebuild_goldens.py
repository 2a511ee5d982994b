"""Rebuild the golden files: every document of the seeds, at the tests' fixed clock.

    python -m tests.rebuild_goldens [FOLDER]

writes each document of ``Publication.paths()`` (base URL ``http://feeds.test/``) under
FOLDER, by default ``tests/golden``, at the file path a static export gives it, and removes
files there that no document has any more. Review the diff before committing it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from feeds.catalogue import file_path
from feeds.config import Settings
from feeds.corpus import load_corpus
from feeds.publication import Publication
from tests.conftest import NOW, SEEDS

GOLDEN = Path(__file__).resolve().parent / "golden"
BASE_URL = "http://feeds.test/"
COMMAND = "python -m tests.rebuild_goldens"


def documents() -> dict[str, bytes]:
    """Every document of the seeds, by its file path below the golden folder."""
    publication = Publication(load_corpus(SEEDS).items, Settings(corpus=SEEDS, base_url=BASE_URL), NOW)
    found: dict[str, bytes] = {}
    for path in publication.paths():
        document = publication.render(path)
        if document is None:
            raise RuntimeError(f"{path} is listed but not rendered")
        found[file_path(path)] = document.body
    return found


def on_disk(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


def rebuild(folder: Path) -> list[str]:
    """Write the documents to ``folder``; returns the names of the files that changed."""
    wanted = documents()
    changed = []
    for name, body in sorted(wanted.items()):
        target = folder / name
        if not target.is_file() or target.read_bytes() != body:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
            changed.append(name)
    for name in sorted(on_disk(folder) - set(wanted)) if folder.is_dir() else []:
        (folder / name).unlink()
        changed.append(name)
    return changed


def main(argv: list[str]) -> int:
    if len(argv) > 1 or (argv and argv[0].startswith("-")):
        print(__doc__, file=sys.stderr)
        return 2
    folder = Path(argv[0]) if argv else GOLDEN
    changed = rebuild(folder)
    for name in changed:
        print(f"rewrote {folder / name}" if (folder / name).exists() else f"removed {folder / name}")
    print(f"{len(changed)} file(s) changed in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
