"""The collaborative model (EASE, ALS past a size), its file cache, and its refit in a background process.

May import: db.
"""
