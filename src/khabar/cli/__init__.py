"""The `khabar` command: a thin argparse front over library functions, one module per command group."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from khabar.errors import KhabarError

__all__ = ["build_parser", "main"]

# Each module exposes `register(subparsers)`, which adds its sub-command(s) and sets `func` on them.
COMMAND_MODULES = ("data", "backbone", "train", "analyze", "evaluate", "card")


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser from the command modules that are present."""
    from khabar import __version__

    parser = argparse.ArgumentParser(prog="khabar", description="Arabic news NLP: entities and topics.")
    parser.add_argument("--version", action="version", version=f"khabar {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"khabar.cli.{name}")
        except ModuleNotFoundError as error:
            if error.name == f"khabar.cli.{name}":
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; user errors print one `error:` line and exit with status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = args.func(args)
    except KhabarError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
