"""Inference: load checkpoints and analyse whole documents into character-offset entities and topic scores."""

from khabar.inference.loading import LoadedCheckpoint, load_checkpoint, quantize_dynamic_int8

__all__ = ["LoadedCheckpoint", "load_checkpoint", "quantize_dynamic_int8"]
