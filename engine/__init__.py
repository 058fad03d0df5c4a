"""Serving, ranking and evaluating the rec-tuned model over the store, one package per capability.

May import: db.
"""
