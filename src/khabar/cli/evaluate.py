"""`khabar evaluate --model DIR --data PATH`: score a checkpoint on a held-out file; a thin front over
`khabar.evaluation.evaluate`."""

from __future__ import annotations

import argparse
import os
import sys

from khabar.cli._common import DEVICE_HELP, check_output_path
from khabar.errors import DataFormatError, UsageError
from khabar.options import CLITIC_MODES, DECODINGS, DEFAULT_DEVICE, EVALUATION_FORMATS, PRECISIONS, RUNTIMES

FORMATS = EVALUATION_FORMATS

__all__ = ["register", "run_evaluate"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `evaluate` command."""
    parser = subparsers.add_parser(
        "evaluate",
        help="score a checkpoint on a held-out CoNLL, span-JSONL or topics file",
        description="Score a checkpoint on held-out data: seqeval default and strict IOB2 modes for CoNLL, exact, "
        "proclitic-tolerant and overlap span matches for span JSONL (full Analyzer), the checkpoint's thresholds "
        "for topics. Prints a table; --output writes the full JSON report.",
    )
    parser.add_argument("--model", required=True, help="checkpoint folder (or a run folder with best/)")
    parser.add_argument("--data", required=True, help="CoNLL (.txt/.conll), span JSONL, or topics JSONL/CSV file")
    parser.add_argument("--format", choices=FORMATS, default="auto",
                        help="data format (default: topics for a topic model, else spans for .jsonl, else conll)")
    parser.add_argument("--output", metavar="REPORT.json", help="write the full report as JSON (atomically)")
    parser.add_argument("--label-map", action="append", metavar="DATA=MODEL",
                        help="rename a data label to the model's, e.g. MIS=MISC; repeat or comma-separate")
    parser.add_argument("--errors", metavar="FILE", help="write misclassified sentences/documents as JSONL")
    parser.add_argument("--threshold", type=float, help="multi-label topics: one threshold for every label")
    parser.add_argument("--max-windows", type=int, metavar="N",
                        help="topics: read only the first N windows of each document (ablation; default all)")
    parser.add_argument("--decoding", choices=DECODINGS,
                        help="NER: constrained (default; the best valid tag sequence) or argmax (each word alone)")
    parser.add_argument("--clitics", choices=CLITIC_MODES,
                        help="span JSONL: entity spans after glued proclitics (split, default) or whole words (keep)")
    parser.add_argument("--batch-size", type=int, default=32, help="windows per forward pass (default 32)")
    parser.add_argument("--device", default=DEFAULT_DEVICE, help=DEVICE_HELP)
    parser.add_argument("--precision", choices=PRECISIONS,
                        help="fp32 (default: figures comparable across machines), auto, bf16 or int8 (CPU); "
                             "with --runtime onnx, the export's precision")
    parser.add_argument("--runtime", choices=RUNTIMES, default="torch",
                        help="torch (default), or onnx: a folder written by khabar export --onnx, in ONNX Runtime")
    parser.add_argument("--worst", type=int, default=10, help="span JSONL: how many worst documents to list")
    parser.add_argument("--progress", action="store_true", help="show a progress bar on stderr")
    parser.set_defaults(func=run_evaluate)


def _check_arguments(args: argparse.Namespace) -> None:
    """What can be checked before the model is loaded: the data file and the output paths."""
    # A `datasets` folder may carry a split (`folder@test`); `hf:NAME@SPLIT` is resolved by the reader.
    if not args.data.startswith("hf:") and not os.path.exists(args.data.rsplit("@", 1)[0]):
        raise DataFormatError(args.data, None, "file not found")
    for option, value in (("--output", args.output), ("--errors", args.errors)):
        if value is not None:
            check_output_path(value, option)
    if args.output is not None and args.errors is not None and os.path.abspath(args.output) == os.path.abspath(
        args.errors
    ):
        raise UsageError("--output and --errors name the same file; give two different files")


def run_evaluate(args: argparse.Namespace) -> int:
    """Evaluate, print the table, then write the report and errors files; nothing is written on failure."""
    _check_arguments(args)
    from khabar.evaluation import evaluate, format_report, parse_label_map, write_errors, write_report

    report = evaluate(
        args.model, args.data, format=args.format, label_map=parse_label_map(args.label_map),
        threshold=args.threshold, batch_size=args.batch_size, device=args.device, precision=args.precision,
        worst=args.worst,
        progress=args.progress, max_windows=args.max_windows, decoding=args.decoding, clitics=args.clitics,
        runtime=args.runtime,
    )
    print(format_report(report))
    if args.output:
        print(f"report written to {write_report(report, args.output)}", file=sys.stderr)
    if args.errors:
        path = write_errors(report.errors, args.errors)
        print(f"{len(report.errors)} misclassified items written to {path}", file=sys.stderr)
    return 0
