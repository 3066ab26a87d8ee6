"""Whether the Hugging Face Hub may be used here: one answer for backbones, datasets, corpus sources and push."""

from __future__ import annotations

import os

__all__ = ["hub_offline"]

_TRUE = {"1", "true", "yes", "on"}


def hub_offline() -> bool:
    """True when HF_HUB_OFFLINE is set now (read at call time, so a caller's environment counts) or was set when
    huggingface_hub was imported."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE:
        return True
    try:
        from huggingface_hub import constants
    except ImportError:  # pragma: no cover - huggingface_hub ships with transformers
        return False
    return bool(constants.HF_HUB_OFFLINE)
