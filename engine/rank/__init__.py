"""The request path: retrieve candidates, score them, apply a fitted stack, rank (`engine recommend` and the chat).

May import: db, engine.collab.
"""
