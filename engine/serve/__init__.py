"""`engine serve`: one GGUF behind llama-cpp-python's OpenAI-compatible server, and what it refuses.

May import: db, engine.llm.
"""
