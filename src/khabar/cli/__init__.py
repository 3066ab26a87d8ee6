"""The `khabar` command: a thin argparse front over library functions, one module per command group.

Building the parser imports only the command modules, which import nothing heavier than `argparse`,
`khabar.options` and `khabar.errors`: `khabar --help` and `khabar --version` never load torch. Each command
imports what it needs when it runs.

`run_guarded` is the one error boundary of every command-line entry point (`khabar`, `training/train_*.py`,
`python -m khabar.quickstart`): a KhabarError is a user's mistake and prints as one `error:` line with exit
status 2; any other exception is a bug in khabar and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from khabar.errors import KhabarError

__all__ = ["EXIT_INTERRUPTED", "EXIT_USER_ERROR", "build_parser", "main", "run_guarded"]

# Each module exposes `register(subparsers)`, which adds its sub-command(s) and sets `func` on them.
COMMAND_MODULES = ("data", "backbone", "train", "analyze", "evaluate", "card", "export", "push", "quickstart")
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


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


def error_line(error: KhabarError) -> str:
    """The one line a user error prints: `error: ` and the message, its line breaks folded into spaces."""
    message = " ".join(part.strip() for part in str(error).splitlines() if part.strip())
    return f"error: {message or type(error).__name__}"


def run_guarded(command: Callable[[], int | None]) -> int:
    """Run `command` and return its exit status; a KhabarError prints one `error:` line and gives status 2."""
    try:
        status = command()
    except KhabarError as error:
        print(error_line(error), file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return int(status or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; user errors print one `error:` line and exit with status 2."""
    args = build_parser().parse_args(argv)
    return run_guarded(lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
