"""`khabar push RUN --repo-id ID`: upload a checkpoint and its card to the Hugging Face Hub."""

from __future__ import annotations

import argparse
import sys

__all__ = ["register", "run_push"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `push` command."""
    parser = subparsers.add_parser(
        "push",
        help="upload a checkpoint (weights, tokenizer, card) to the Hugging Face Hub",
        description="Upload a checkpoint folder (or a run folder's best/) to a Hub model repository, created if "
        "needed. Run `khabar card` first so that the card carries evaluation results. Needs a token "
        "(`hf auth login` or HF_TOKEN) and a machine that reaches the Hub.",
    )
    parser.add_argument("checkpoint", metavar="RUN", help="checkpoint folder or run folder with best/")
    parser.add_argument("--repo-id", required=True, help="Hub repository, e.g. your-name/khabar-ner-anercorp")
    parser.add_argument("--private", action="store_true", help="create the repository as private")
    parser.add_argument("--message", default="Upload khabar checkpoint", help="commit message")
    parser.set_defaults(func=run_push)


def run_push(args: argparse.Namespace) -> int:
    from khabar.publish import push_checkpoint

    url = push_checkpoint(args.checkpoint, args.repo_id, private=args.private, commit_message=args.message)
    print(f"pushed to {url}", file=sys.stderr)
    return 0
