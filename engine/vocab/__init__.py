"""The catalog's words: the title index, finding titles in what people type, and genre words.

May import: db.
"""
