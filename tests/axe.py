"""axe-core, the accessibility checker the browser tests run in Chromium: one pinned release,
fetched from the npm registry and checked against the registry's sha512 integrity.

    python -m tests.axe

installs it in ``.axe/`` at the top of the checkout (git ignores it) and prints where; run
again, it finds it there and downloads nothing. It needs only Python's standard library (no
Node.js: the script runs in the browser), so CI runs it before the venv exists.
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

VERSION = "4.14.1"
TARBALL = f"https://registry.npmjs.org/axe-core/-/axe-core-{VERSION}.tgz"
INTEGRITY = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
"""``dist.integrity`` of the release in the registry (``npm view axe-core@VERSION dist.integrity``)."""
FOLDER = Path(__file__).resolve().parent.parent / ".axe" / f"axe-core-{VERSION}"
SCRIPT = FOLDER / "axe.min.js"
_MEMBERS = ("package/LICENSE", "package/axe.min.js")


def integrity(data: bytes) -> str:
    """The Subresource Integrity string of ``data``, as npm records it."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def install(tarball: bytes | None = None) -> Path:
    """Put ``axe.min.js`` (and its licence) in :data:`FOLDER`, from ``tarball`` or the
    registry; raises ValueError if the bytes are not the pinned release's."""
    if SCRIPT.is_file():
        return SCRIPT
    if tarball is None:
        with urllib.request.urlopen(TARBALL, timeout=60) as response:
            tarball = response.read()
    found = integrity(tarball)
    if found != INTEGRITY:
        raise ValueError(f"{TARBALL}: integrity {found}, expected {INTEGRITY}")
    FOLDER.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for name in _MEMBERS:  # read by name: nothing else of the archive reaches the disk
            member = archive.extractfile(name)
            if member is None:
                raise ValueError(f"{TARBALL}: {name} is not a file")
            target = FOLDER / Path(name).name
            partial = target.with_name(f".{target.name}.partial")
            partial.write_bytes(member.read())
            partial.replace(target)  # the script last: its presence means a whole install
    return SCRIPT


def main(argv: list[str]) -> int:
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    print(f"axe-core {VERSION}: {install()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
