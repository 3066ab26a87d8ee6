"""Names of inference choices, kept free of heavy imports so that command-line parsers can list them."""

from __future__ import annotations

__all__ = ["CLITIC_MODES", "DECODINGS", "DEFAULT_DEVICE", "EVALUATION_FORMATS", "PRECISIONS", "RUNTIMES"]

# NER tags from word probabilities: the most probable valid tag sequence, or each word's argmax.
DECODINGS = ("constrained", "argmax")
# Entity spans: after the proclitics glued to the first word (والصين -> الصين), or whole words.
CLITIC_MODES = ("split", "keep")
# auto: bf16 where the hardware multiplies it natively, else fp32. int8: dynamic quantisation (CPU).
PRECISIONS = ("auto", "fp32", "bf16", "int8")
# What runs the forward pass: PyTorch, or ONNX Runtime on a folder written by `khabar export --onnx`.
RUNTIMES = ("torch", "onnx")
# Evaluation data formats; auto picks from the checkpoint's task and the file's extension.
EVALUATION_FORMATS = ("auto", "conll", "spans", "topics")
# The device default of `analyze` and `evaluate`: CUDA when available, else the CPU.
DEFAULT_DEVICE = "auto"
