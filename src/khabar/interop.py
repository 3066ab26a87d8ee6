"""What makes a khabar checkpoint folder usable by plain transformers, in 4.x as in 5.x, without khabar.

- transformers 5 saves fast tokenizers as `tokenizer_class: "TokenizersBackend"` plus loader-only keys
  (`local_files_only`, `is_local`, `backend`); transformers 4.x has no such class and fails. The same files
  declared as `PreTrainedTokenizerFast`, the name both versions know, load everywhere.
- Multi-label topic thresholds, tuned on dev, are written into `config.json` (`thresholds`, label to value) so
  that a user without khabar reads them where the labels are (`id2label`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["PORTABLE_TOKENIZER_CLASSES", "make_tokenizer_portable", "record_thresholds"]

# Tokenizer class names only transformers 5 knows, and the name both 4.x and 5.x load the same files with.
PORTABLE_TOKENIZER_CLASSES = {"TokenizersBackend": "PreTrainedTokenizerFast"}
# Keys transformers 5 writes from how the files were *loaded*, not what the tokenizer is.
_LOADER_KEYS = ("local_files_only", "is_local", "backend")


def make_tokenizer_portable(folder: str | Path) -> None:
    """Rewrite `folder/tokenizer_config.json` so that transformers 4.x and 5.x both load it."""
    path = Path(folder) / "tokenizer_config.json"
    if not path.is_file():
        return
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    name = data.get("tokenizer_class")
    if name in PORTABLE_TOKENIZER_CLASSES:
        data["tokenizer_class"] = PORTABLE_TOKENIZER_CLASSES[name]
    for key in _LOADER_KEYS:
        data.pop(key, None)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def record_thresholds(model_config: Any, thresholds: Mapping[str, float]) -> None:
    """Keep the checkpoint's per-label decision thresholds on the model config, so config.json carries them."""
    if thresholds:
        model_config.thresholds = {label: float(value) for label, value in thresholds.items()}
