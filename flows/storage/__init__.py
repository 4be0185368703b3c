"""Storage: the store over a local folder or S3 (store.py), locks kept in the lake (locks.py),
scratch folders (scratch.py) and the spool of a folder's rows while it is read (spool.py)."""

from flows import moved


def __getattr__(name: str):
    return moved.moved_name(__name__, name)
