"""`chat`: the Textual app's entry point."""

from __future__ import annotations

import sys


def main() -> None:
    """Until the chat app lands, say so plainly instead of pretending."""
    sys.stderr.write("chat: the Textual chat app is not built yet; see `engine --help` for what works today\n")
    sys.exit(2)
