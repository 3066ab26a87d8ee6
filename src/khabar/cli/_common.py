"""Checks shared by the commands, run before any model is loaded; light imports only."""

from __future__ import annotations

import os
from pathlib import Path

from khabar.errors import OutputError, quote

__all__ = ["DEVICE_HELP", "check_output_path"]

DEVICE_HELP = "torch device: auto (default; cuda when available, else cpu), cpu, cuda, cuda:1 ..."


def check_output_path(value: str, option: str = "--output") -> Path:
    """`value` as a Path a file can be written to: not a folder, in a folder that exists and is writable.

    Commands call this up front, so that a typo in an output path fails in a second, not after the work.
    """
    path = Path(value)
    shown = quote(value)
    if path.is_dir():
        raise OutputError(f"{option} {shown} is a folder; give a file path")
    folder = path.parent
    if not folder.exists():
        raise OutputError(f"{option} {shown}: folder {quote(str(folder))} does not exist; create it first")
    if not folder.is_dir():
        raise OutputError(f"{option} {shown}: {quote(str(folder))} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {shown}: folder {quote(str(folder))} is not writable")
    return path
