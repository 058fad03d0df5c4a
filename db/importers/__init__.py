"""Importers: each parses everything first, then writes in one transaction."""

from .bookcrossing import import_bookcrossing
from .ml100k import import_ml100k
from .report import BadRow, ImportReport
from .tallrec import import_tallrec

__all__ = ["import_ml100k", "import_bookcrossing", "import_tallrec", "ImportReport", "BadRow"]
