"""The team's proclitic gold set: check the hand-written markup and build the span JSONL that evaluation reads.

The source is `benchmarks/data/proclitic-gold/raw/*.txt` (markup described in that folder's GUIDELINES.md): one
news paragraph per line, each entity written `<LABEL>bare name</LABEL>` with its attached proclitics outside the
tag. `build` turns every file into span JSONL documents (character offsets into the text without tags) and
splits them by document into `dev.jsonl` (tuning) and `test.jsonl` (reporting); `check` validates files and
prints the counts the guidelines ask for. Standard library only, so annotators can run it anywhere:

    python benchmarks/proclitic_gold.py check benchmarks/data/proclitic-gold/raw/part1.txt
    python benchmarks/proclitic_gold.py build
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

GOLD_DIR = Path(__file__).resolve().parent / "data" / "proclitic-gold"
LABELS = ("PERS", "LOC", "ORG", "MISC")
CONJUNCTIONS = "وف"
PREPOSITIONS = "بلك"
# Every sequence of detachable proclitics that can precede a name: an optional conjunction, then an optional
# preposition. (The article ال belongs to the name; the future marker س only attaches to verbs.)
PROCLITIC_SEQUENCES = frozenset(c + p for c in ["", *CONJUNCTIONS] for p in ["", *PREPOSITIONS]) - {""}
MARKS = frozenset([*map(chr, range(0x064B, 0x0660)), "\u0670", "\u0640"])  # diacritics and tatweel
TAG = re.compile(r"<(/?)([A-Z]+)>")
DEV_EVERY = 5  # documents 0 and 2 of every 5 (per file) go to dev: 40% dev, 60% test
DEV_POSITIONS = (0, 2)


def bare(text: str) -> str:
    """Letters only: diacritics and tatweel removed (how proclitic sequences are compared)."""
    return "".join(char for char in text if char not in MARKS)


@dataclass
class GoldEntity:
    start: int
    end: int
    label: str
    prefix: str  # the proclitics glued before the entity, as written (may carry diacritics); "" if none

    def to_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "label": self.label}


@dataclass
class GoldDocument:
    id: str
    text: str
    entities: list[GoldEntity] = field(default_factory=list)

    def entity_text(self, entity: GoldEntity) -> str:
        return self.text[entity.start : entity.end]

    def to_dict(self) -> dict:
        return {"id": self.id, "text": self.text, "entities": [e.to_dict() for e in self.entities]}


def is_fused(name: str) -> bool:
    """ل + the article with its alef dropped (للصين = ل + الصين): the tag starts at the preposition's lam."""
    return bare(name).startswith("لل")


def parse_line(line: str, where: str) -> tuple[GoldDocument, list[str]]:
    """One markup line into a document and a list of problems (empty when the line is well formed)."""
    problems: list[str] = []
    chunks: list[str] = []
    entities: list[GoldEntity] = []
    length, position, open_tag = 0, 0, None
    for match in TAG.finditer(line):
        chunks.append(line[position : match.start()])
        length += match.start() - position
        position = match.end()
        closing, label = match.group(1) == "/", match.group(2)
        if label not in LABELS:
            problems.append(f"{where}: unknown label <{match.group(1)}{label}> (known: {', '.join(LABELS)})")
            continue
        if not closing:
            if open_tag is not None:
                problems.append(f"{where}: <{label}> opened inside <{open_tag[0]}> (tags never nest)")
            open_tag = (label, length)
        elif open_tag is None or open_tag[0] != label:
            problems.append(f"{where}: </{label}> closes no open <{label}>")
            open_tag = None
        else:
            entities.append(GoldEntity(open_tag[1], length, label, ""))
            open_tag = None
    chunks.append(line[position:])
    if open_tag is not None:
        problems.append(f"{where}: <{open_tag[0]}> is never closed")
    if "<" in line[position:] or ">" in line[position:] or any("<" in c or ">" in c for c in chunks):
        problems.append(f"{where}: a stray '<' or '>' outside a well-formed tag")
    text = "".join(chunks)
    document = GoldDocument(where, text, [])
    for entity in entities:
        name = text[entity.start : entity.end]
        if not name.strip() or name != name.strip():
            problems.append(f"{where}: entity {name!r} is empty or has spaces inside its tag's edges")
            continue
        word_start = entity.start
        while word_start > 0 and (text[word_start - 1].isalpha() or text[word_start - 1] in MARKS):
            word_start -= 1
        entity.prefix = text[word_start : entity.start]
        if entity.prefix and bare(entity.prefix) not in PROCLITIC_SEQUENCES:
            problems.append(
                f"{where}: {entity.prefix!r} glued before {name!r} is not a proclitic sequence "
                f"({', '.join(sorted(PROCLITIC_SEQUENCES))})"
            )
        if is_fused(name) and bare(entity.prefix) not in ("", *CONJUNCTIONS):
            problems.append(f"{where}: fused {name!r} can only have a conjunction before it, found {entity.prefix!r}")
        if entity.end < len(text) and (text[entity.end].isalpha() or text[entity.end] in MARKS):
            problems.append(f"{where}: {name!r} is followed by letters in the same word (no suffixes on names)")
        document.entities.append(entity)
    return document, problems


def read_markup(path: Path) -> tuple[list[GoldDocument], list[str]]:
    documents, problems = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        document, line_problems = parse_line(line, f"{path.name}:{number}")
        documents.append(document)
        problems.extend(line_problems)
    return documents, problems


def name_initial(document: GoldDocument, entity: GoldEntity) -> str | None:
    """The entity's first letter when it is one of the proclitic letters and part of the name (not fused)."""
    name = bare(document.entity_text(entity))
    if is_fused(name) or not name or name[0] not in CONJUNCTIONS + PREPOSITIONS:
        return None
    return name[0]


def counts(documents: list[GoldDocument]) -> dict[str, object]:
    entities = [(d, e) for d in documents for e in d.entities]
    initial = Counter(letter for d, e in entities if (letter := name_initial(d, e)))
    return {
        "documents": len(documents),
        "entities": len(entities),
        "by_label": dict(Counter(e.label for _, e in entities)),
        "with_proclitic": sum(bool(e.prefix) or is_fused(d.entity_text(e)) for d, e in entities),
        "fused_lam_article": sum(is_fused(d.entity_text(e)) for d, e in entities),
        "proclitics": dict(Counter(bare(e.prefix) for _, e in entities if e.prefix)),
        "name_initial": sum(initial.values()),
        "name_initial_by_letter": dict(initial),
        "name_initial_with_proclitic": sum(bool(name_initial(d, e)) and bool(e.prefix) for d, e in entities),
        "with_diacritics": sum(
            any(c in MARKS and c != "\u0640" for c in e.prefix + d.entity_text(e)) for d, e in entities
        ),
        "with_tatweel": sum("\u0640" in e.prefix + d.entity_text(e) for d, e in entities),
    }


def check(paths: list[Path]) -> int:
    documents, problems = [], []
    for path in paths:
        found, found_problems = read_markup(path)
        documents.extend(found)
        problems.extend(found_problems)
    for problem in problems:
        print("error:", problem)
    print(json.dumps(counts(documents), ensure_ascii=False, indent=1))
    return 1 if problems else 0


def build(gold_dir: Path) -> int:
    """Write dev.jsonl and test.jsonl from every raw/*.txt; refuse to write anything if a file has problems."""
    splits: dict[str, list[GoldDocument]] = {"dev": [], "test": []}
    problems = []
    for path in sorted((gold_dir / "raw").glob("*.txt")):
        documents, found = read_markup(path)
        problems.extend(found)
        for index, document in enumerate(documents):
            document.id = f"{path.stem}-{index + 1:03d}"
            splits["dev" if index % DEV_EVERY in DEV_POSITIONS else "test"].append(document)
    if problems:
        for problem in problems:
            print("error:", problem)
        return 1
    for split, documents in splits.items():
        lines = [json.dumps(d.to_dict(), ensure_ascii=False) for d in documents]
        (gold_dir / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(split, json.dumps(counts(documents), ensure_ascii=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    checking = commands.add_parser("check", help="validate markup files and print their counts")
    checking.add_argument("files", nargs="*", type=Path, help="markup files (default: every raw/*.txt)")
    building = commands.add_parser("build", help="write dev.jsonl and test.jsonl from raw/*.txt")
    building.add_argument("--gold-dir", type=Path, default=GOLD_DIR)
    args = parser.parse_args(argv)
    if args.command == "check":
        return check(args.files or sorted((GOLD_DIR / "raw").glob("*.txt")))
    return build(args.gold_dir)


if __name__ == "__main__":
    sys.exit(main())
