"""The request path: candidates from several channels, ordered by the learned ranker with its P(like), the LLM's P(Yes) on the rows shown, "why" from the ranker's parts (`engine recommend` and the chat).

May import: db, engine.collab.
"""
