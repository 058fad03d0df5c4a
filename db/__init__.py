"""The SQLite store and the data layer every other package builds on."""

from .errors import RecchatError
from .store import open_db, transaction

__all__ = ["RecchatError", "open_db", "transaction"]
