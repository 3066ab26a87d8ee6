"""`khabar analyze --ner DIR --topics DIR [FILE ...]`: documents in, one JSON object (or a table) per document out.

Each FILE is one document (its id is the path as given); with no FILE the document is read from stdin. With
`--jsonl`, or for a `.jsonl` FILE, each line is a record `{"id": ..., "text": ...}`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from khabar.data.io import json_objects
from khabar.errors import DataFormatError, KhabarError
from khabar.options import DECODINGS, PRECISIONS

if TYPE_CHECKING:
    from khabar.inference import Document

__all__ = ["InputDocument", "format_json", "format_table", "read_documents", "register"]

STDIN_NAME = "<stdin>"


@dataclass(frozen=True)
class InputDocument:
    """A document to analyse and the id its result is written under."""

    id: str
    text: str


def register(subparsers: Any) -> None:
    """Add `analyze` to the top-level parser."""
    parser = subparsers.add_parser(
        "analyze",
        help="find entities and topics in documents",
        description="Analyse documents with an NER checkpoint, a topic checkpoint, or both. Writes one JSON "
        "object per document (id, entities with text/label/start/end/score, topics with label/score).",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="documents (one per file; .jsonl: one per line)")
    parser.add_argument("--ner", metavar="DIR", help="NER checkpoint folder (or a run folder with best/)")
    parser.add_argument("--topics", metavar="DIR", help="topic checkpoint folder (or a run folder with best/)")
    parser.add_argument("--jsonl", action="store_true", help='read records {"id", "text"}, one per line')
    parser.add_argument("--format", choices=("json", "table"), default="json", help="output format (default: json)")
    parser.add_argument("--output", metavar="FILE", help="write here (atomically) instead of stdout")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N", help="windows per forward pass")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument("--quantize", action="store_true", help="int8 dynamic quantisation of Linear layers (CPU)")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="auto (default): bf16 where the hardware has native bf16 (AMX CPUs, GPUs), "
                             "else fp32")
    parser.add_argument("--decoding", choices=DECODINGS, default="constrained",
                        help="NER tags: constrained (default; the best valid sequence) or argmax (each word alone)")
    parser.add_argument(
        "--pack-sentences", action=argparse.BooleanOptionalAction, default=None,
        help="pack whole sentences into windows, or read each sentence alone (default: the NER checkpoint's "
        "recorded context)",
    )
    parser.set_defaults(func=_run)


def _jsonl_documents(lines: Iterable[tuple[int, str]], source: str) -> Iterator[InputDocument]:
    for number, record in json_objects(lines, source):
        if "text" not in record:
            raise DataFormatError(source, number, f"missing field 'text' (fields found: {sorted(record)})")
        if not isinstance(record["text"], str):
            raise DataFormatError(source, number, f"text must be a string, found {type(record['text']).__name__}")
        identifier = record.get("id", f"{source}:{number}")
        if not isinstance(identifier, (str, int)) or isinstance(identifier, bool):
            raise DataFormatError(source, number, f"id must be a string or an integer, found {identifier!r}")
        yield InputDocument(str(identifier), record["text"])


def read_documents(files: Sequence[str], *, jsonl: bool = False, stdin: Any = None) -> list[InputDocument]:
    """All input documents, read and checked before any model work so a bad record fails fast."""
    from khabar.data.io import read_lines, read_text

    if not files:
        text = (stdin or sys.stdin).read()
        if jsonl:
            return list(_jsonl_documents(enumerate(text.splitlines(), start=1), STDIN_NAME))
        return [InputDocument(STDIN_NAME, text)]
    documents: list[InputDocument] = []
    for path in files:
        if jsonl or path.endswith(".jsonl"):
            documents.extend(_jsonl_documents(read_lines(path), path))
        else:
            documents.append(InputDocument(path, read_text(path)))
    return documents


def format_json(identifier: str, document: Document) -> str:
    """One JSON line: the id, the entities and the topics (no text: the caller has it)."""
    record = document.to_dict()
    return json.dumps(
        {"id": identifier, "entities": record["entities"], "topics": record["topics"]}, ensure_ascii=False
    ) + "\n"


def format_table(identifier: str, document: Document, *, entities: bool, topics: bool) -> str:
    """A readable block: entities (label, text, start-end, score), then topics (label, score)."""
    lines = [f"# {identifier}"]
    if entities:
        lines.append(f"entities ({len(document.entities)}):")
        label_width = max((len(e.label) for e in document.entities), default=0)
        text_width = max((len(e.text) for e in document.entities), default=0)
        for e in document.entities:
            lines.append(
                f"  {e.label:<{label_width}}  {e.text:<{text_width}}  {f'{e.start}-{e.end}':>11}  {e.score:.3f}"
            )
    if topics:
        lines.append(f"topics ({len(document.topics)}):")
        width = max((len(t.label) for t in document.topics), default=0)
        lines.extend(f"  {t.label:<{width}}  {t.score:.3f}" for t in document.topics)
    return "\n".join(lines) + "\n\n"


def _run(args: argparse.Namespace) -> int:
    if args.ner is None and args.topics is None:
        raise KhabarError("give --ner DIR, --topics DIR, or both")
    if args.batch_size < 1:
        raise KhabarError(f"--batch-size must be at least 1, got {args.batch_size}")
    documents = read_documents(args.files, jsonl=args.jsonl)
    from khabar.inference import Analyzer

    analyzer = Analyzer.load(
        ner=args.ner, topics=args.topics, device=args.device, quantize=args.quantize,
        batch_size=args.batch_size, pack_sentences=args.pack_sentences, precision=args.precision,
        decoding=args.decoding,
    )
    results = analyzer.analyze_many((d.text for d in documents), progress=len(documents) > 1)

    def chunks() -> Iterator[str]:
        for source, document in zip(documents, results, strict=True):
            if args.format == "table":
                yield format_table(source.id, document, entities=args.ner is not None, topics=args.topics is not None)
            else:
                yield format_json(source.id, document)

    if args.output:
        from khabar.data.io import atomic_write_text

        atomic_write_text(args.output, chunks())
    else:
        for chunk in chunks():
            sys.stdout.write(chunk)
        sys.stdout.flush()
    return 0
