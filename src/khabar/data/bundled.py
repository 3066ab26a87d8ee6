"""The small sample files shipped inside the package (`khabar/data/sample/`), for quickstarts and tests."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["SAMPLE_ARTICLE", "SAMPLE_NER", "SAMPLE_TOPICS", "sample_path"]

SAMPLE_NER = "ner.conll"
SAMPLE_TOPICS = "topics.jsonl"
SAMPLE_ARTICLE = "article.txt"


def sample_path(name: str) -> Path:
    """The path of a bundled sample file, e.g. `sample_path(SAMPLE_NER)`.

    An unknown name is a FileNotFoundError listing the available samples.

    >>> sample_path(SAMPLE_NER).name
    'ner.conll'
    """
    folder = files("khabar") / "data" / "sample"
    resource = folder / name
    if not resource.is_file():
        available = sorted(item.name for item in folder.iterdir() if item.is_file()) if folder.is_dir() else []
        raise FileNotFoundError(f"no bundled sample {name!r} (available: {', '.join(available) or 'none'})")
    return Path(str(resource))
