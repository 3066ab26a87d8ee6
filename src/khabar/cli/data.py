"""`khabar data stats PATH`: print a data file's counts as JSON."""

from __future__ import annotations

import argparse
import json
from typing import Any

from khabar.options import EVALUATION_FORMATS

__all__ = ["register"]

# The data formats `khabar data stats` reads are those `khabar evaluate` reads (khabar.data.stats.FORMATS).
FORMATS = EVALUATION_FORMATS


def _stats(args: argparse.Namespace) -> int:
    from khabar.data.stats import data_stats

    print(json.dumps(data_stats(args.path, format=args.format), ensure_ascii=False, indent=2))
    return 0


def register(subparsers: Any) -> None:
    """Add `data` and its sub-command `stats` to the top-level parser."""
    data = subparsers.add_parser("data", help="inspect data files", description="Inspect data files.")
    commands = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)
    stats = commands.add_parser(
        "stats",
        help="count sentences/documents, tokens, entities or labels",
        description="Print a data file's counts as JSON: sentences or documents, tokens, entities or labels.",
    )
    stats.add_argument("path", help="a CoNLL (.txt/.conll), span JSONL, or topics JSONL/CSV file")
    stats.add_argument("--format", choices=FORMATS, default="auto", help="file format (default: from the extension)")
    stats.set_defaults(func=_stats)
