"""Rec-tuning (TALLRec-style LoRA), merging and GGUF export."""
