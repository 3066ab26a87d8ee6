"""`khabar export RUN_OR_CHECKPOINT --onnx OUT [--int8]`: the checkpoint as an ONNX graph for ONNX Runtime."""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["register", "run_export"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `export` command."""
    parser = subparsers.add_parser(
        "export",
        help="export a checkpoint as an ONNX graph (fp32 or int8) that Analyzer.load(runtime='onnx') reads",
        description="Write OUT: model.onnx (dynamic batch and sequence axes), the tokenizer files, config.json, "
        "khabar.json and export.json (precision, int8 choices, and the largest logit difference against "
        "PyTorch on real windows). Needs khabar[onnx]. OUT must not exist (or be an empty folder).",
    )
    parser.add_argument("checkpoint", metavar="RUN_OR_CHECKPOINT", help="checkpoint folder, or a run folder (best/)")
    parser.add_argument("--onnx", required=True, metavar="OUT", help="the folder to write")
    parser.add_argument("--int8", action="store_true",
                        help="int8 weights (dynamic quantisation; feed-forward down-projections stay fp32)")
    parser.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    """Export, check against PyTorch, then print one line (stderr) and the export record (stdout)."""
    from khabar.export import describe, export_onnx

    result = export_onnx(args.checkpoint, args.onnx, int8=args.int8)
    print(describe(result), file=sys.stderr)
    print(json.dumps(result.to_dict(), indent=1))
    return 0
