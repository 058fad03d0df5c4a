"""The rec-tuned LLM as a scorer: P(Yes) backends (in-process llama.cpp, an OpenAI-compatible server), their settings, and the LLM's own leave-one-out reasons.

May import: db.
"""
