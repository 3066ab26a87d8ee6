"""Error types: every failure a user can cause is a KhabarError with a message that names the fix."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "BackboneError",
    "CheckpointError",
    "ConfigError",
    "DataFormatError",
    "KhabarError",
]


class KhabarError(Exception):
    """Base class: the CLI prints these as one line instead of a traceback."""


class DataFormatError(KhabarError, ValueError):
    """A data file is malformed; the message names the file, the line (1-based) and the problem."""

    def __init__(self, path: str | Path | None, line: int | None, problem: str) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.problem = problem
        where = self.path or "<data>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {problem}")


class ConfigError(KhabarError, ValueError):
    """A configuration file or override is invalid (unknown key, bad value)."""


class BackboneError(KhabarError):
    """A backbone cannot be resolved, prepared or loaded."""


class CheckpointError(KhabarError):
    """A checkpoint folder is missing, incomplete or of the wrong task."""
