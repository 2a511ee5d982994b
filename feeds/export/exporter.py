"""An export round: the plan (which documents, which of them changed), the guards, and the
writes into the output, a folder or an object store, in an order that never breaks a link,
with the manifest written before and after."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from ..catalogue import file_path
from ..config import Settings
from ..errors import BadFiles
from ..index import open_index
from ..publication import Publication
from ..select import Query
from . import reuse
from .destination import Destination
from .guards import RoundPlan, check_round
from .manifest import MadeOf, Manifest
from .output import output_of
from .render import rendered
from .report import ExportReport

Progress = Callable[[list[str]], AbstractContextManager[Iterable[str]]]
"""Wraps the list of paths to export, for a progress display."""


def export_site(
    settings: Settings,
    out: Path | str,
    *,
    now: datetime,
    gzip_too: bool = False,
    progress: Progress = nullcontext,
    force: bool = False,
    strict: bool = False,
    dry_run: bool = False,
) -> ExportReport:
    """Export the corpus of ``settings`` under ``out`` (a folder, or ``s3://BUCKET/PREFIX``),
    as visible at ``now``; with ``dry_run``, only report what it would write and remove.

    Raises FeedsError, before anything in ``out`` changes, for a missing corpus or an
    unusable ``out`` (see :mod:`.guards`; ``force`` lifts the guards of a round), and
    BadFiles if ``strict`` and any corpus file is bad. A file that cannot be written is a
    failure in the report, not an exception; a store that fails a request after its
    retries raises StoreError.
    """
    exporter = Exporter(settings, out, gzip_too=gzip_too, force=force, strict=strict, dry_run=dry_run)
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
        out: Path | str,
        *,
        gzip_too: bool = False,
        force: bool = False,
        strict: bool = False,
        dry_run: bool = False,
    ) -> None:
        self.output = output_of(out)
        self.output.check(settings.corpus)
        self.settings = settings
        self.gzip_too = gzip_too
        self.force = force
        self.strict = strict
        self.dry_run = dry_run
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
        report = ExportReport(problems=problems, dry_run=self.dry_run)
        if self.strict and report.skipped:
            raise BadFiles(f"{report.skipped} bad files in the corpus; nothing exported (--strict)")

        def export() -> ExportReport:
            # Asked before the selection reads: what it reads is of this version or later.
            version = self.index.version()
            selection = self.index.selection(now, self.settings.collapsing)
            publication = Publication.from_source(selection, self.settings)
            made_of = reuse.made_of(version, selection, publication, self.settings, now)
            with self.output.open(dry_run=self.dry_run) as tree:
                self._export(publication, tree, report, made_of, progress=progress)
            return report

        return self.index.recovering(export)

    def close(self) -> None:
        self.index.close()

    def _export(
        self,
        publication: Publication,
        tree: Destination,
        report: ExportReport,
        made_of: MadeOf | None,
        *,
        progress: Progress,
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
            check_round(previous, plan, self.settings.max_deletes, self.output)
        tree.check_writable({".", *map(_parent, names)})
        tree.remove_leftover_temps({_parent(name) for name in (*names, *previous.files)})
        known, made_of = reuse.known_fingerprints(previous, made_of, self.index, publication)
        todo: list[_Todo] = []
        for path in paths:
            name = file_path(path)
            targets = [name, name + ".gz"] if self.gzip_too else [name]
            fingerprint = known(path) or publication.fingerprint(path)
            if all(tree.holds(target, previous.entries.get(target), fingerprint) for target in targets):
                report.unchanged.extend(targets)  # made of the same parts as the file there
            else:
                todo.append(_Todo(_stage(publication, path), path, targets, fingerprint))
        for name in markers:  # empty: what they say is in their names
            if tree.holds(name, previous.entries.get(name), _MARKER):
                report.unchanged.append(name)
            else:
                todo.append(_Todo(_MARKERS, None, [name], _MARKER))
        todo.sort(key=lambda entry: entry.stage)
        # Listed before they exist, their old entries forgotten: if this export dies, the
        # next still knows them as ours, and writes them again.
        rewritten = {target for entry in todo for target in entry.targets}
        entries = {name: entry for name, entry in previous.entries.items() if name not in rewritten}
        owned = Manifest(previous.files | set(names), entries, corpus=corpus, items=previous.items)
        if owned != replace(previous, made_of=None):
            tree.save_manifest(owned, report)
        documents = [entry for entry in todo if entry.path is not None]
        for entry in todo:
            if entry.path is None:
                tree.write(entry.targets[0], b"", report, content_type=_MARKER_TYPE, cache_control="no-cache")
        # In place before the renderers start: a store uploads in threads, which must not
        # be running when they are forked.
        tree.commit(report)
        stage = _MARKERS
        with progress([entry.path for entry in documents if entry.path is not None]) as shown:
            made = rendered(publication, list(shown), gzip_too=self.gzip_too, held=tree.descriptors())
            for entry, document in zip(documents, made, strict=True):
                if entry.stage != stage:  # all of a stage in place before what links to it
                    tree.commit(report)
                    stage = entry.stage
                for target, body in zip(entry.targets, document.bodies, strict=True):
                    content_type = _GZIP_TYPE if target.endswith(".gz") else document.content_type
                    tree.write(
                        target, body, report, content_type=content_type, cache_control=document.cache_control
                    )
        tree.commit(report)  # in a folder, the files of a stage are made durable together, then put in place
        placed = {*report.written, *report.unchanged}  # a file not written has no entry
        for entry in todo:
            for target in filter(placed.__contains__, entry.targets):
                stamp = tree.stamp(target)
                if stamp is not None and entry.fingerprint is not None:
                    entries[target] = (entry.fingerprint, stamp)
        stale = sorted(previous.files - set(names))
        kept = tree.remove_all(stale, report)  # last: nothing written links to them
        tree.remove_empty_folders({_parent(name) for name in stale} - {_parent(name) for name in names})
        files = set(names) | kept
        done = Manifest(
            files,
            {k: v for k, v in entries.items() if k in files},
            corpus=corpus,
            items=items,
            made_of=made_of,
        )
        if done != previous:  # a round with nothing to do writes nothing
            tree.save_manifest(done, report)
        tree.sync()


class _Todo(NamedTuple):
    """A document (or a marker, which has no ``path``) the round writes, with its files."""

    stage: int
    path: str | None
    targets: list[str]
    fingerprint: str | None


_MARKERS, _OPEN_ARCHIVES, _ARCHIVES, _PAGES, _FEEDS, _LISTS = range(6)
"""The stages of a round, in the order they are written, so that no document in place
links to one that is not: the open archives' markers (a static host caches an archive for
good unless marked), archives (the open one first, which its older neighbour links to),
the feeds' pages, the feeds, and last the index page and the OPML file."""
_MARKER = "open archive"
"""The fingerprint of an open archive's marker file, which is always empty."""
_MARKER_TYPE = "text/plain; charset=utf-8"
_GZIP_TYPE = "application/gzip"
"""The Content-Type of a precompressed copy, as an object (a static host serves its bytes
as the encoding of the document instead)."""


def _stage(publication: Publication, path: str) -> int:
    found = publication.catalogue.find(path)
    if found is not None:
        return _FEEDS if found[1].is_feed else _PAGES
    in_archive = publication.archives.find(path)
    if in_archive is not None:
        return _ARCHIVES if in_archive[0].closed else _OPEN_ARCHIVES
    return _LISTS


def _parent(name: str) -> str:
    """The folder of a file's name: ``.`` for one at the top."""
    return name.rpartition("/")[0] or "."
