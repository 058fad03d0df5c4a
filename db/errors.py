"""One exception type for every user-facing failure: the CLIs print its message as one line."""


class RecchatError(Exception):
    """A failure the user can act on (bad path, bad file, bad argument)."""
