"""An export's OUT: a folder, or an object store's ``s3://BUCKET/PREFIX``. Both get the same
names, bytes and guards; each is checked before anything is written, then opened for a
round as a :class:`~.destination.Destination`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import FeedsError
from .destination import Destination, DryRun
from .guards import check_out
from .store import StoreAddress, StoreTree, connect, is_store
from .tree import FolderTree


class FolderOutput:
    def __init__(self, path: Path) -> None:
        self.path = path

    def check(self, corpus: Path) -> None:
        check_out(corpus, self.path)

    def open(self, *, dry_run: bool) -> Any:
        """A context manager giving the folder's :class:`Destination`; made if missing,
        except for a dry run."""
        if not dry_run:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise FeedsError(f"cannot create {self.path}: {err.strerror or err}") from None
        return _Opened(FolderTree(self.path, missing_ok=dry_run), dry_run)

    def __str__(self) -> str:
        return str(self.path)


class StoreOutput:
    def __init__(self, address: StoreAddress) -> None:
        self.address = address
        self._client: Any = None

    def check(self, corpus: Path) -> None:
        """Reach the store and its bucket, with the credentials given (see :func:`connect`)."""
        self._client = connect(self.address)

    def open(self, *, dry_run: bool) -> Any:
        if self._client is None:
            self._client = connect(self.address)
        return _Opened(StoreTree(self.address, self._client), dry_run)

    def __str__(self) -> str:
        return str(self.address)


Output = FolderOutput | StoreOutput


def output_of(out: Path | str) -> Output:
    """The output that OUT names (raises ConfigError for a malformed ``s3://`` address)."""
    if isinstance(out, str) and is_store(out):
        return StoreOutput(StoreAddress.parse(out))
    return FolderOutput(Path(out))


class _Opened:
    """An output's destination, opened for one round (and wrapped for a dry run)."""

    def __init__(self, tree: FolderTree | StoreTree, dry_run: bool) -> None:
        self.tree = tree
        self.dry_run = dry_run

    def __enter__(self) -> Destination:
        opened = self.tree.__enter__()
        return DryRun(opened) if self.dry_run else opened

    def __exit__(self, *args: object) -> None:
        self.tree.__exit__(*args)
