"""khabar: Arabic news NLP — fine-tune encoders for entities and topics, analyse whole documents.

`from khabar import Analyzer`, then `Analyzer.load(ner="runs/ner-anercorp")(text).entities`: see the README.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Analyzer", "Document", "Entity", "Topic", "__version__"]

# The analysis API is re-exported lazily: `import khabar` (the CLI's --help, `khabar.__version__`) should
# not pay for importing torch and transformers.
_LAZY = {"Analyzer", "Document", "Entity", "Topic"}

if TYPE_CHECKING:
    from khabar.inference import Analyzer, Document, Entity, Topic


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import khabar.inference

        return getattr(khabar.inference, name)
    raise AttributeError(f"module 'khabar' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)
