"""An export round: the plan (which documents, which of them changed), the guards, and the
writes into the output folder, with the manifest written before and after."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from pathlib import Path, PurePosixPath

from ..catalogue import file_path
from ..config import Settings
from ..errors import BadFiles, FeedsError
from ..index import open_index
from ..publication import Publication
from ..select import Query
from .guards import RoundPlan, check_out, check_round
from .manifest import Manifest
from .render import rendered
from .report import ExportReport
from .tree import FolderTree

Progress = Callable[[list[str]], AbstractContextManager[Iterable[str]]]
"""Wraps the list of paths to export, for a progress display."""


def export_site(
    settings: Settings,
    out: Path,
    *,
    now: datetime,
    gzip_too: bool = False,
    progress: Progress = nullcontext,
    force: bool = False,
    strict: bool = False,
) -> ExportReport:
    """Export the corpus of ``settings`` under ``out``, as visible at ``now``.

    Raises FeedsError, before anything in ``out`` changes, for a missing corpus or an
    unusable ``out`` (see :mod:`.guards`; ``force`` lifts the guards of a round), and
    BadFiles if ``strict`` and any corpus file is bad. A file that cannot be written is a
    failure in the report, not an exception.
    """
    exporter = Exporter(settings, out, gzip_too=gzip_too, force=force, strict=strict)
    try:
        return exporter.round(now, progress=progress)
    finally:
        exporter.close()


class Exporter:
    """Exports of one corpus into one ``out``, round after round, from one open index:
    the first round looks at every file, a later one only at the paths a change notice
    named (``feeds export --watch``). Every round writes what a one-off export would."""

    def __init__(
        self,
        settings: Settings,
        out: Path,
        *,
        gzip_too: bool = False,
        force: bool = False,
        strict: bool = False,
    ) -> None:
        check_out(settings.corpus, out)
        self.settings = settings
        self.out = out
        self.gzip_too = gzip_too
        self.force = force
        self.strict = strict
        self.index = open_index(settings)
        self.rounds = 0

    def round(
        self, now: datetime, paths: Iterable[str] | None = None, *, progress: Progress = nullcontext
    ) -> ExportReport:
        """Export as visible at ``now``. The report's problems are every problem of the
        corpus in a first round, and those of the files read again in a later one."""
        refresh = self.index.refresh(paths=None if self.rounds == 0 else paths)
        first, self.rounds = self.rounds == 0, self.rounds + 1
        problems = tuple(self.index.problems()) if first or self.strict else refresh.problems
        report = ExportReport(problems=problems)
        if self.strict and report.skipped:
            raise BadFiles(f"{report.skipped} bad files in the corpus; nothing exported (--strict)")
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise FeedsError(f"cannot create {self.out}: {err.strerror or err}") from None

        def export() -> ExportReport:
            selection = self.index.selection(now, self.settings.collapsing)
            publication = Publication.from_source(selection, self.settings)
            with FolderTree(self.out) as tree:
                self._export(publication, tree, report, progress=progress)
            return report

        return self.index.recovering(export)

    def close(self) -> None:
        self.index.close()

    def _export(
        self, publication: Publication, tree: FolderTree, report: ExportReport, *, progress: Progress
    ) -> None:
        paths = list(publication.paths())
        names = [file_path(path) for path in paths]
        if self.gzip_too:
            names += [name + ".gz" for name in names]
        markers = [file_path(path) for path in publication.archives.open_markers()]
        names += markers
        previous = tree.read_manifest()
        corpus = str(self.settings.corpus.resolve())
        items = publication.selection.count(Query())
        if not self.force:
            plan = RoundPlan(corpus=corpus, items=items, removed=len(previous.files - set(names)))
            check_round(previous, plan, self.settings.max_deletes, self.out)
        tree.check_writable({".", *map(_parent, names)})
        tree.remove_leftover_temps({_parent(name) for name in (*names, *previous.files)})
        # Listed before they exist: if this export dies, the next still knows them as ours.
        entries = dict(previous.entries)
        owned = Manifest(previous.files | set(names), entries, corpus=corpus, items=previous.items)
        tree.save_manifest(owned, report)
        todo: list[tuple[str, list[str], str | None]] = []
        for path in paths:
            name = file_path(path)
            targets = [name, name + ".gz"] if self.gzip_too else [name]
            fingerprint = publication.fingerprint(path)
            if all(tree.holds(target, previous.entries.get(target), fingerprint) for target in targets):
                report.unchanged.extend(targets)  # made of the same parts as the file there
            else:
                todo.append((path, targets, fingerprint))
        with progress([path for path, _, _ in todo]) as shown:
            made = rendered(publication, list(shown), gzip_too=self.gzip_too, held=tree.descriptors())
            for (_, targets, _), bodies in zip(todo, made, strict=True):
                for target, body in zip(targets, bodies, strict=True):
                    tree.write(target, body, report)
        for name in markers:  # empty: what they say is in their names
            if tree.holds(name, previous.entries.get(name), _MARKER):
                report.unchanged.append(name)
            else:
                tree.write(name, b"", report)
                todo.append(("", [name], _MARKER))
        tree.commit(report)  # every file of the round durable together, then in place
        placed = {*report.written, *report.unchanged}  # a file not written keeps its old entry
        for _, targets, fingerprint in todo:
            for target in filter(placed.__contains__, targets):
                stamp = tree.stamp(target)
                if stamp is not None and fingerprint is not None:
                    entries[target] = (fingerprint, stamp)
        stale = sorted(previous.files - set(names))
        kept = {name for name in stale if not tree.remove(name, report)}
        tree.remove_empty_folders({_parent(name) for name in stale} - {_parent(name) for name in names})
        files = set(names) | kept
        done = Manifest(files, {k: v for k, v in entries.items() if k in files}, corpus=corpus, items=items)
        tree.save_manifest(done, report)
        tree.sync()


_MARKER = "open archive"
"""The fingerprint of an open archive's marker file, which is always empty."""


def _parent(name: str) -> str:
    return str(PurePosixPath(name).parent)
