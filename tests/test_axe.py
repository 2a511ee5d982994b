"""The installer of axe-core: only the pinned release's bytes, only its script and licence."""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path

import pytest

from tests import axe


def tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "axe"
    monkeypatch.setattr(axe, "FOLDER", target)
    monkeypatch.setattr(axe, "SCRIPT", target / "axe.min.js")
    return target


def test_bytes_that_are_not_the_pinned_release_are_refused(folder: Path) -> None:
    with pytest.raises(ValueError, match=r"integrity sha512-\S+, expected " + re.escape(axe.INTEGRITY)):
        axe.install(tarball({"package/axe.min.js": b"window.axe = {};", "package/LICENSE": b"MPL"}))
    assert not folder.exists()


def test_the_release_gives_its_script_and_licence_and_nothing_else(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tarball(
        {
            "package/axe.min.js": b"window.axe = {};",
            "package/LICENSE": b"MPL",
            "package/../../escaped.js": b"no",
            "package/package.json": b"{}",
        }
    )
    monkeypatch.setattr(axe, "INTEGRITY", axe.integrity(data))
    assert axe.install(data) == folder / "axe.min.js"
    assert sorted(p.name for p in folder.iterdir()) == ["LICENSE", "axe.min.js"]
    assert (folder / "axe.min.js").read_bytes() == b"window.axe = {};"
    assert not (folder.parent / "escaped.js").exists() and not (folder.parent.parent / "escaped.js").exists()
    assert axe.install(b"not even a tarball") == folder / "axe.min.js"  # there already: nothing fetched


def test_the_pin_is_an_npm_integrity_string() -> None:
    assert axe.INTEGRITY.startswith("sha512-") and len(axe.INTEGRITY) == 7 + 88
    assert axe.TARBALL == f"https://registry.npmjs.org/axe-core/-/axe-core-{axe.VERSION}.tgz"
