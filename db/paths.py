"""Where the store and caches live by default; every CLI lets the user override them."""

import os
from pathlib import Path

import platformdirs

APP = "recchat"


def data_dir() -> Path:
    return Path(os.environ.get("RECCHAT_DATA_DIR") or platformdirs.user_data_dir(APP))


def cache_dir() -> Path:
    return Path(os.environ.get("RECCHAT_CACHE_DIR") or platformdirs.user_cache_dir(APP))


def default_db_path() -> Path:
    """`RECCHAT_DB` wins, so tests and scripts can point every command at one file."""
    return Path(os.environ.get("RECCHAT_DB") or data_dir() / "recchat.db")
