"""Offline measurement and the fits that learn from held-out data: `engine eval`, `eval-catalog`, the hold-out split, metrics, baselines, the stack's fit.

May import: db, engine.collab, engine.rank.
"""
