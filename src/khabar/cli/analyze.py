"""`khabar analyze`: documents in, one JSON line (or a table) per document out, streamed and resumable.

Inputs: FILEs (one document each; `.jsonl` files and `--jsonl`: one `{"id", "text"}` record per line), stdin,
or `--dataset` (a `datasets` save_to_disk folder, a parquet/JSONL/CSV file, or a Hub name). Output lines carry
`id`, `text`, `entities` and `topics`, so they can be scored with `khabar evaluate --format spans`.
Under `accelerate launch` each process analyses every N-th chunk of documents and the main process merges
the shards into `--output` in input order (see `khabar.corpus`).
"""

from __future__ import annotations

import argparse
import os
import sys
from functools import partial
from typing import Any

from khabar.cli._common import DEVICE_HELP, check_output_path
from khabar.errors import DataFormatError, UsageError
from khabar.options import CLITIC_MODES, DECODINGS, DEFAULT_DEVICE, PRECISIONS, RUNTIMES

__all__ = ["register"]

EXIT_SOME_SKIPPED = 1


def register(subparsers: Any) -> None:
    """Add `analyze` to the top-level parser."""
    parser = subparsers.add_parser(
        "analyze",
        help="find entities and topics in documents",
        description="Analyse documents with an NER checkpoint, a topic checkpoint, or both. Writes one JSON "
        "object per document (id, text, entities with text/label/start/end/score/name, topics with label/score). "
        "Exit status 1 when some documents could not be analysed (each is reported on stderr).",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="documents (one per file; .jsonl: one per line)")
    parser.add_argument("--ner", metavar="DIR", help="NER checkpoint folder (or a run folder with best/)")
    parser.add_argument("--topics", metavar="DIR", help="topic checkpoint folder (or a run folder with best/)")
    parser.add_argument("--jsonl", action="store_true", help='read records {"id", "text"}, one per line')
    parser.add_argument("--dataset", metavar="PATH_OR_NAME",
                        help="read a datasets dataset: a save_to_disk folder, a parquet/JSONL/CSV file, or a Hub name")
    parser.add_argument("--split", help="the dataset split (default: the only one, or train)")
    parser.add_argument("--text-column", default="text", help="dataset column with the text (default: text)")
    parser.add_argument("--id-column", help="dataset column with document ids (default: the row number)")
    parser.add_argument("--format", choices=("json", "table"), default="json", help="output format (default: json)")
    parser.add_argument("--output", metavar="FILE", help="write here, line by line as results are ready")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted --output run: documents already written are skipped")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N", help="windows per forward pass")
    parser.add_argument("--device", default=DEFAULT_DEVICE,
                        help=f"{DEVICE_HELP} (under accelerate launch, auto is each process's own device)")
    parser.add_argument("--quantize", action="store_true", help="int8 dynamic quantisation of Linear layers (CPU)")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="auto (default): bf16 where the hardware has native bf16 (AMX CPUs, GPUs), "
                             "else fp32")
    parser.add_argument("--decoding", choices=DECODINGS, default="constrained",
                        help="NER tags: constrained (default; the best valid sequence) or argmax (each word alone)")
    parser.add_argument("--runtime", choices=RUNTIMES, default="torch",
                        help="torch (default), or onnx: folders written by khabar export --onnx, in ONNX Runtime")
    parser.add_argument("--clitics", choices=CLITIC_MODES, default="split",
                        help="entity spans: split (default) leaves out proclitics glued to a name (والصين -> الصين); "
                             "keep gives whole words")
    parser.add_argument(
        "--pack-sentences", action=argparse.BooleanOptionalAction, default=None,
        help="pack whole sentences into windows, or read each sentence alone (default: the NER checkpoint's "
        "recorded context)",
    )
    parser.set_defaults(func=_run)


def _check_arguments(args: argparse.Namespace, processes: int) -> None:
    """Everything that can be checked before a model is loaded: options, input files, the output path."""
    if args.ner is None and args.topics is None:
        raise UsageError("give --ner DIR, --topics DIR, or both")
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.dataset and (args.files or args.jsonl):
        raise UsageError("give FILEs or --dataset, not both")
    if args.resume and (args.output is None or args.format != "json"):
        raise UsageError("--resume continues a JSON --output file: give --output FILE (and --format json)")
    if processes > 1 and (args.output is None or args.format != "json"):
        raise UsageError(f"{processes} processes need --output FILE (JSON lines): each writes a shard, then merge")
    for name in args.files:
        if not os.path.exists(name):
            raise DataFormatError(name, None, "file not found")
        if os.path.isdir(name):
            raise DataFormatError(name, None, "is a directory, expected a file")
    if args.output is not None:
        check_output_path(args.output)


def _source(args: argparse.Namespace) -> Any:
    from khabar.corpus import DatasetSource, FileSource, StdinSource

    if args.dataset:
        return DatasetSource(args.dataset, args.split, args.text_column, args.id_column)
    if args.files:
        return FileSource(args.files, jsonl=args.jsonl)
    return StdinSource(jsonl=args.jsonl)


def _run(args: argparse.Namespace) -> int:
    from khabar.corpus import OutputPlan, Skipped, analyze_corpus, format_json, format_table, process_layout

    layout = process_layout()
    _check_arguments(args, layout.processes)
    source = _source(args)
    from khabar.inference import Analyzer

    # Under accelerate launch, auto is the device the launcher gave this process; else the library resolves it.
    device = str(layout.device) if args.device == DEFAULT_DEVICE and layout.processes > 1 else args.device
    analyzer = Analyzer.load(
        ner=args.ner, topics=args.topics, device=device, quantize=args.quantize,
        batch_size=args.batch_size, pack_sentences=args.pack_sentences, precision=args.precision,
        decoding=args.decoding, clitics=args.clitics, runtime=args.runtime,
    )
    if args.format == "table":
        formatter = partial(format_table, entities=args.ner is not None, topics=args.topics is not None)
    else:
        formatter = format_json
    output = None
    if args.output:
        output = OutputPlan(check_output_path(args.output), layout.processes, layout.rank)

    def report(skipped: Skipped) -> None:
        where = f" ({skipped.source})" if skipped.source and skipped.source != skipped.id else ""
        print(f"skipped {skipped.id}{where}: {skipped.reason}", file=sys.stderr)

    summary = analyze_corpus(
        source, analyzer, formatter, output=output, resume=args.resume, layout=layout, on_skip=report,
    )
    if layout.is_main:
        print(summary.to_json(), file=sys.stderr)
    return EXIT_SOME_SKIPPED if summary.skipped else 0

