"""`feeds export` beside its baselines: reading and parsing alone, a naive script, Hugo,
and the same export with stories told more than once not collapsed."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .hugo import Work
from .runs import PYTHON, Run, corpus, environment, label, paired, repeat, run

HUGO = "Hugo, cold build"
NO_ARCHIVES_COLD = "cold export, no archives"
APART_COLD = "cold export, stories not collapsed"
STORY_EDIT = "one file changed"
SINGLE_EDIT = "one file changed, a single item"
APART = ", stories not collapsed"
"""What the name of a figure measured with stories not collapsed ends with."""


@dataclass
class ExportFigures:
    """The figures of one corpus, by name, and how many tellings the story has that the
    file ``one file changed`` edits tells."""

    runs: dict[str, Run] = field(default_factory=dict)
    story_size: int = 0


def edit(victim: Path) -> Callable[[], None]:
    """Edit one published item's title (a different title each call)."""
    original = victim.read_text(encoding="utf-8")
    counter = iter(range(1_000_000))

    def change() -> None:
        edited = original.replace('title: "', f'title: "Edited {next(counter)} ', 1)
        victim.write_text(edited, encoding="utf-8")

    return change


def story_size(index: Path, path: str) -> int:
    """How many tellings the story has that the file ``path`` tells (0: none)."""
    with sqlite3.connect(index) as db:
        row = db.execute(
            "SELECT count(*) FROM item_story WHERE path = (SELECT path FROM item_story WHERE member = ?)",
            (path,),
        ).fetchone()
    return int(row[0])


def single_item(index: Path, root: Path) -> Path:
    """A published item that tells no story told more than once, nor names or is named by
    any other item."""
    with sqlite3.connect(index) as db:
        row = db.execute(
            "SELECT path FROM items WHERE listed = 1 AND path NOT IN (SELECT member FROM item_story)"
            " AND path NOT IN (SELECT path FROM item_links) AND path NOT IN (SELECT other FROM item_links)"
            " ORDER BY path LIMIT 1 OFFSET 7"
        ).fetchone()
    if row is None:
        raise SystemExit(f"{root} has no single item to edit")
    return root / str(row[0])


def export_figures(size: int, times: int, work: Path, hugo: str | None) -> ExportFigures:
    root = corpus(size)
    index, out = work / "index.sqlite3", work / "out"
    env = environment(index)
    export = [PYTHON, "-m", "feeds", "export", str(root), str(out), "--quiet"]
    naive = [PYTHON, "-m", "bench.naive"]

    def fresh() -> None:
        shutil.rmtree(out, ignore_errors=True)
        for suffix in ("", "-wal", "-shm", ".lock"):
            Path(f"{index}{suffix}").unlink(missing_ok=True)

    figures = ExportFigures()
    found = figures.runs
    found["read every file"] = repeat(times, lambda: run([*naive, "read", str(root)]))
    found["libyaml parse, one core"] = repeat(times, lambda: run([*naive, "parse", str(root)]))
    found["exact reader alone, one core"] = repeat(times, lambda: run([*naive, "exact", str(root)]))
    found["fast path, then exact reader, one core"] = repeat(times, lambda: run([*naive, "fast", str(root)]))
    found["naive PyYAML + feedgen"] = repeat(
        times,
        lambda: run([*naive, "export", str(root), str(work / "naive")]),
        lambda: shutil.rmtree(work / "naive", ignore_errors=True),
    )
    found["cold export"] = repeat(times, lambda: run(export, env), fresh)
    # The cost of collapsing stories told more than once: the same export with it turned off,
    # into an index and a folder of its own.
    apart_index, apart_out = work / "apart.sqlite3", work / "apart"
    apart_env = environment(apart_index) | {"FEEDS_COLLAPSE": "0"}
    apart = [PYTHON, "-m", "feeds", "export", str(root), str(apart_out), "--quiet"]

    def fresh_apart() -> None:
        shutil.rmtree(apart_out, ignore_errors=True)
        for suffix in ("", "-wal", "-shm", ".lock"):
            Path(f"{apart_index}{suffix}").unlink(missing_ok=True)

    found[APART_COLD] = repeat(times, lambda: run(apart, apart_env), fresh_apart)
    # The documents Hugo makes too, and no archives: into the same folder and index as the
    # export without collapsing, which the later figures do not use again.
    found[NO_ARCHIVES_COLD] = repeat(
        times, lambda: run(apart, environment(apart_index) | {"FEEDS_ARCHIVES": "0"}), fresh_apart
    )
    if hugo:
        found[HUGO] = hugo_build(hugo, root, work / "hugo", times)
    found["warm export, nothing changed"] = repeat(max(times, 5), lambda: run(export, env))
    # Each edited file is exported with and without collapsing, in turn.
    telling = sorted(root.glob("000/*.txt"))[7]
    figures.story_size = story_size(index, telling.relative_to(root).as_posix())
    for name, victim in ((STORY_EDIT, telling), (SINGLE_EDIT, single_item(index, root))):
        found[name], found[name + APART] = paired(
            max(times, 5), lambda: run(export, env), lambda: run(apart, apart_env), edit(victim)
        )
    extra = root / "000" / "zz_added.txt"
    source = sorted(root.glob("000/*.txt"))[3].read_text(encoding="utf-8")

    def add() -> None:
        extra.write_text(source.replace("https://", "https://added.", 2), encoding="utf-8")

    def delete() -> None:
        extra.unlink(missing_ok=True)

    def before_adding() -> None:
        delete()
        run(export, env)
        add()

    def before_deleting() -> None:
        add()
        run(export, env)
        delete()

    found["one file added"] = repeat(max(times, 5), lambda: run(export, env), before_adding)
    found["one file deleted"] = repeat(max(times, 5), lambda: run(export, env), before_deleting)
    delete()
    run(export, env)  # leave the index matching the corpus for the server figures
    return figures


def hugo_build(hugo: str, root: Path, folder: Path, times: int) -> Run:
    """Hugo building the same corpus as a site of the same feeds, from a fresh output folder
    and resource cache each time (converting the corpus is not timed)."""
    work = Work.at(folder)
    # In a process of its own: a child's peak RSS, as wait4 reports it, starts from ours.
    run([PYTHON, "-m", "bench.hugo", str(root), str(folder), "--convert-only"])
    figure = repeat(times, lambda: run(work.build_command(hugo)), work.fresh)
    if not (work.out / "index.json").is_file():
        raise SystemExit(f"hugo made no feeds from {work.site}")
    return figure


def export_report(sizes: list[int], exports: dict[int, ExportFigures], hugo: str | None) -> list[str]:
    lines = [
        "## Export",
        "",
        "| | " + " | ".join(label(s) for s in sizes) + " |",
        "|---|" + "---|" * len(sizes),
    ]
    for name in exports[sizes[0]].runs:
        cells = [
            f"{exports[s].runs[name].seconds:.2f} s, {exports[s].runs[name].peak_mb:.0f} MB" for s in sizes
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Ratios (lower is better for `feeds`):", ""]
    lines += ["| | " + " | ".join(label(s) for s in sizes) + " |", "|---|" + "---|" * len(sizes)]
    for name, base in (
        ("cold export / libyaml parse, one core", "libyaml parse, one core"),
        ("cold export / naive PyYAML + feedgen", "naive PyYAML + feedgen"),
        ("cold export / read every file", "read every file"),
        ("fast path / exact reader, one core", "exact reader alone, one core"),
        ("cold export / Hugo", HUGO),
        ("cold export, no archives / Hugo", HUGO),
        ("cold export / stories not collapsed", APART_COLD),
    ):
        if any(base not in exports[s].runs for s in sizes):
            continue
        top = (
            "fast path, then exact reader, one core"
            if name.startswith("fast path")
            else NO_ARCHIVES_COLD
            if name.startswith(NO_ARCHIVES_COLD)
            else "cold export"
        )
        cells = [f"{exports[s].runs[top].seconds / exports[s].runs[base].seconds:.2f}" for s in sizes]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for name in (STORY_EDIT, SINGLE_EDIT):
        cells = [
            f"{(exports[s].runs[name].seconds - exports[s].runs[name + APART].seconds) * 1000:+.0f} ms"
            for s in sizes
        ]
        lines.append(f"| {name}, collapsing stories (difference) | " + " | ".join(cells) + " |")
    told = ", ".join(f"{exports[s].story_size:,} at {label(s)}" for s in sizes)
    lines += [
        "",
        "Stories told more than once are collapsed (the default) in every row but those that say",
        "otherwise, which export the same corpus into an index and a folder of their own; each",
        "edit is exported both ways in turn. The synthetic corpus links each item to random",
        "earlier ones, so its earliest items, all within a week, are one story of many tellings,",
        "which is in every `hot` feed:",
        f"{told}. `{STORY_EDIT}` edits the title of one of those tellings;",
        f"`{SINGLE_EDIT}` that of an item which names no other and which no other names.",
        "",
    ]
    if hugo:
        lines += [
            f"Hugo (`{hugo}`)",
            "builds the same corpus, converted into a Hugo site by `bench/hugo.py`, into the same",
            "feeds: all topics and each topic, in RSS, Atom and JSON Feed, the 50 newest items each",
            "(`python -m bench.hugo CORPUS WORK` checks that both hold the same items). Each build",
            "starts from fresh output and cache folders and uses every core; the conversion is not",
            "timed. `feeds export` also writes the feeds of the selection `hot`, the index page and",
            "the OPML file, and every row but `cold export, no archives` (`FEEDS_ARCHIVES=0`) its",
            "feeds' archives and their pages, which Hugo does not make.",
        ]
    else:
        lines.append("Hugo was missing, so its rows are left out.")
    return lines + [""]
