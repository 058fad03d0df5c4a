"""The conversation without a screen: reading a message, the state it builds, the rating journal, planning, the replies' words. `chat` (tui/) and `engine ask` both run it.

May import: db, engine.llm, engine.collab, engine.vocab, engine.rank, engine.sources.
"""
