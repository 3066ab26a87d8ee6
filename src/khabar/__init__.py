"""khabar: Arabic news NLP — fine-tune encoders for entities and topics, analyse whole documents."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
