"""Take the screenshot of a feed's page that the README shows.

    python -m tests.screenshot docs/feed-page.png [--corpus DIR] [--path /feeds/all.html]
                                                  [--width 1280] [--dark]

serves a corpus with ``feeds serve --feed-limit 4 --base-url https://news.example.org/`` on a
free port (by default a sample of 40 items that ``bench/generate.py`` writes, the same each
time, with every part a page shows), opens the page in headless Chromium (as the browser
tests drive it, so Debian's ``chromium``, ``chromium-driver`` and ``openssl`` are needed)
and writes the whole page as a PNG. Nothing is fetched from the network: the items' images
show as grey placeholders of their sizes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.generate import generate
from tests import chromium
from tests.test_serve_process import serving

SAMPLE_SIZE = 40
BASE_URL = "https://news.example.org/"
"""Where the pages say their feeds are: the same picture from every run."""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.screenshot",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("out", type=Path, help="the PNG file to write")
    parser.add_argument("--corpus", type=Path, help="the corpus (default: a generated sample)")
    parser.add_argument("--path", default="/feeds/all.html", help="the page (default: %(default)s)")
    parser.add_argument("--width", type=int, default=1280, help="CSS pixels (default: %(default)s)")
    parser.add_argument("--dark", action="store_true", help="in the dark colour scheme")
    args = parser.parse_args(argv)
    problem = chromium.missing()
    if problem:
        print(f"Error: {problem}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="feeds-screenshot-") as folder:
        work = Path(folder)
        corpus = args.corpus
        if corpus is None:
            corpus = work / "sample"
            generate(SAMPLE_SIZE, corpus)
        with (
            serving([str(corpus), "--feed-limit", "4", "--base-url", BASE_URL], cwd=work) as server,
            chromium.image_server(work) as images,
            chromium.chromium(work / "profile", images) as driver,
        ):
            chromium.viewport(driver, args.width, dark=args.dark)
            driver.get(server.base + args.path.lstrip("/"))
            driver.execute_script("return document.fonts.ready")
            shot = chromium.screenshot(driver)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(shot)
    print(f"wrote {args.out} ({len(shot):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
