"""Serving and evaluating the rec-tuned model over the store."""
