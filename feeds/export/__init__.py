"""Write every document of the catalogue under a folder, as a static host will serve it.

A file whose bytes are unchanged is not touched, so its modification time and every cache
of it survive. The manifest, ``.feeds-export.json``, lists the files an export owns and the
corpus it was made from; the next export removes the ones it no longer makes, touches
nothing else in the folder, and refuses to run over another corpus's site or to empty one
(:mod:`.guards`).
"""

from .exporter import Exporter, Progress, export_site
from .guards import check_out
from .manifest import MANIFEST, Manifest
from .render import rendered
from .report import ExportReport
from .tree import TEMP_SUFFIX

__all__ = [
    "MANIFEST", "TEMP_SUFFIX", "ExportReport", "Exporter", "Manifest", "Progress", "check_out",
    "export_site", "rendered",
]  # fmt: skip
