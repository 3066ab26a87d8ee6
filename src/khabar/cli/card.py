"""`khabar card DIR [--report report.json ...] [--output README.md]`: write a checkpoint's model card."""

from __future__ import annotations

import argparse
import sys

from khabar.cli._common import check_output_path

__all__ = ["register", "run_card"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `card` command."""
    parser = subparsers.add_parser(
        "card",
        help="write a model card (README.md) from a checkpoint and its evaluation reports",
        description="Build a Hugging Face model card from the checkpoint's khabar.json, the run's config.yaml "
        "(hyperparameters) and reports written by `khabar evaluate --output`.",
    )
    parser.add_argument("checkpoint", metavar="DIR", help="checkpoint folder (or a run folder with best/)")
    parser.add_argument("--report", action="append", default=[], metavar="REPORT.json",
                        help="an evaluation report of this checkpoint; repeat for several")
    parser.add_argument("--output", metavar="README.md", help="where to write (default: DIR's README.md)")
    parser.add_argument("--name", help="model name on the card (default: the run folder's name)")
    parser.set_defaults(func=run_card)


def run_card(args: argparse.Namespace) -> int:
    """Build the card from the checkpoint and reports, then write it atomically."""
    from khabar.checkpoint import resolve_checkpoint_folder

    if args.output is not None:
        check_output_path(args.output)
    from pathlib import Path

    from khabar.cards import build_model_card, render_model_card, write_card_text, write_licence_file

    card = build_model_card(args.checkpoint, args.report, model_name=args.name)
    output = Path(args.output) if args.output else resolve_checkpoint_folder(args.checkpoint) / "README.md"
    write_licence_file(card, output.parent)  # the card's license_link names LICENSE.md beside it
    print(f"model card written to {write_card_text(render_model_card(card), output)}", file=sys.stderr)
    return 0
