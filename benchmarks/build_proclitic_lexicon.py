"""Build the word-count lexicon `khabar.text.clitics` reads to decide whether a word's first letters are proclitics.

For every normalised word form it records how often it occurs and how often it starts a named entity, over the
openly licensed Arabic text in KHABAR_DATA_DIR: ANERcorp train (CC BY-SA 4.0; its test split stays held out),
AQMAR (CC BY-SA 3.0), the Wojood sample (MIT) and ASND (CC BY 4.0). The news-topics articles are left out because
their terms allow internal research use only, and the package ships this file.

Forms seen once and never as an entity are dropped (they cannot outweigh anything and double the size).
`benchmarks/data/proclitic-lookalike-names.txt`, a short hand-written list of names that read like a proclitic
plus the article (والتر), adds each of its names as seen LOOKALIKE_COUNT times, all starting an entity.

    HF_HUB_OFFLINE=1 KHABAR_DATA_DIR=../shared/data python benchmarks/build_proclitic_lexicon.py
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from khabar.text import split_words
from khabar.text.clitics import LEXICON_PATH
from khabar.text.normalize import normalize_word

NAME_TYPES = frozenset({"PERS", "PER", "LOC", "ORG", "GPE", "FAC", "MISC", "MIS", "NORP", "EVENT"})
CONLL_FILES = (
    "anercorp/train.txt",
    "aqmar/train.txt", "aqmar/dev.txt", "aqmar/test.txt",
    "wojood-sample/train.txt", "wojood-sample/val.txt", "wojood-sample/test.txt",
)
ASND_FILES = ("asnd/train.csv", "asnd/dev.csv", "asnd/test.csv")
LOOKALIKES = Path(__file__).resolve().parent / "data" / "proclitic-lookalike-names.txt"
LOOKALIKE_COUNT = 5
HEADER = """# khabar proclitic lexicon: normalised word form, occurrences, occurrences starting a named entity
# Counted by benchmarks/build_proclitic_lexicon.py over ANERcorp train (Benajiba & Rosso 2007, CC BY-SA 4.0),
# AQMAR (Mohit et al. 2012, CC BY-SA 3.0), the Wojood sample (Jarrar et al. 2022, MIT) and ASND
# (Chowdhury et al. 2020, CC BY 4.0), plus the team's list of names that look like a proclitic + the article.
# These counts are shared under CC BY-SA 4.0 with that attribution.
"""


def conll_words(path: Path) -> Iterator[tuple[str, bool]]:
    """(word, starts a name) pairs; an I- tag after a different tag starts one too (IOB1-style lines)."""
    previous = "O"
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) < 2:
            previous = "O"
            continue
        tag = fields[1]
        kind = tag[2:] if tag[:2] in ("B-", "I-") else ""
        starts = kind in NAME_TYPES and (tag.startswith("B-") or previous[2:] != kind)
        previous = tag
        yield fields[0], starts


def asnd_words(path: Path) -> Iterator[tuple[str, bool]]:
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            for word in split_words(row["Content"]):
                yield word.text, False


def count(data_dir: Path) -> tuple[Counter[str], Counter[str]]:
    occurrences, entity_starts = Counter[str](), Counter[str]()
    sources = [conll_words(data_dir / name) for name in CONLL_FILES]
    sources += [asnd_words(data_dir / name) for name in ASND_FILES]
    for source in sources:
        for raw, starts in source:
            word = normalize_word(raw)
            if word:
                occurrences[word] += 1
                entity_starts[word] += starts
    for line in LOOKALIKES.read_text(encoding="utf-8").splitlines():
        name = normalize_word(line.strip())
        if name and not line.startswith("#"):
            occurrences[name] = max(occurrences[name], LOOKALIKE_COUNT)
            entity_starts[name] = max(entity_starts[name], LOOKALIKE_COUNT)
    return occurrences, entity_starts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("KHABAR_DATA_DIR"))
    parser.add_argument("--out", type=Path, default=LEXICON_PATH)
    args = parser.parse_args(argv)
    if args.data_dir is None:
        parser.error("set KHABAR_DATA_DIR or pass --data-dir")
    occurrences, entity_starts = count(args.data_dir)
    kept = sorted(w for w, n in occurrences.items() if (n > 1 or entity_starts[w]) and "\t" not in w)
    lines = [f"{word}\t{occurrences[word]}\t{entity_starts[word]}" for word in kept]
    # mtime=0 makes the file byte-identical across rebuilds of the same counts.
    with open(args.out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as handle:
        handle.write((HEADER + "\n".join(lines) + "\n").encode("utf-8"))
    print(f"{args.out}: {len(kept)} forms of {len(occurrences)}, {sum(occurrences.values())} words counted, "
          f"{args.out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
