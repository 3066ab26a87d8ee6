"""`khabar backbone prepare NAME` and `khabar backbone list`: a thin front over `khabar.backbones`."""

from __future__ import annotations

import argparse

__all__ = ["register", "run_list", "run_prepare"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `backbone` command group with its `prepare` and `list` sub-commands."""
    parser = subparsers.add_parser(
        "backbone",
        help="prepare or list backbones (local folders, offline backbones, Hub ids)",
        description="Resolve backbones to local folders that transformers loads.",
    )
    commands = parser.add_subparsers(dest="backbone_command", metavar="SUBCOMMAND", required=True)
    prep = commands.add_parser(
        "prepare",
        help="convert/download/validate a backbone; prints its local folder last",
        description="Prepare a backbone: an offline name (converted once into the cache), "
        "a Hub id (downloaded) or a local folder (validated). The folder is the last line printed.",
    )
    prep.add_argument("name", help="e.g. offline/multilingual-e5-small, a Hub id, or a folder path")
    prep.add_argument("--force", action="store_true", help="reconvert an offline backbone even if cached")
    prep.add_argument("--no-progress", action="store_true", help="hide the conversion progress bar")
    prep.set_defaults(func=lambda args: run_prepare(args.name, force=args.force, progress=not args.no_progress))
    listing = commands.add_parser("list", help="list known backbones and whether they are ready here")
    listing.set_defaults(func=lambda args: run_list())


def run_prepare(name: str, *, force: bool = False, progress: bool = True) -> int:
    """Prepare `name` and print its folder as the last line of stdout."""
    from khabar.backbones import prepare

    print(prepare(name, force=force, progress=progress))
    return 0


def run_list() -> int:
    """Print a table: name, kind, ready, path."""
    from khabar.backbones import list_backbones

    rows = [("NAME", "KIND", "READY", "PATH")]
    for info in list_backbones():
        rows.append((info.name, info.kind, "yes" if info.ready else "no", str(info.path or "-")))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3])
    return 0
