"""What can be imported: the table of import sources, and a person's own history linked to the catalog.

May import: db, engine.vocab.
"""
