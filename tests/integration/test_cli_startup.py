"""`khabar --help` and `khabar --version` start fast: building the parser imports neither torch nor transformers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from khabar import __version__

HEAVY = ("torch", "transformers", "datasets", "accelerate")


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def khabar_command() -> list[str]:
    """The installed console script beside this Python, else `python -m khabar.cli`."""
    script = Path(sys.executable).with_name("khabar")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "khabar.cli"]


def test_building_the_parser_imports_no_heavy_library():
    code = (
        "import sys, khabar.cli; khabar.cli.build_parser(); "
        f"loaded = [name for name in {HEAVY!r} if name in sys.modules]; "
        "assert not loaded, loaded; "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr


def test_version_prints_the_version():
    result = subprocess.run([*khabar_command(), "--version"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout == f"khabar {__version__}\n"


@pytest.mark.parametrize(
    "command", [[], ["analyze"], ["evaluate"], ["train", "ner"], ["train", "topics"], ["card"], ["data", "stats"],
                ["backbone", "prepare"]],
    ids=lambda command: " ".join(command) or "khabar",
)
def test_help_of_every_command_imports_no_heavy_library(command):
    code = (
        "import sys\nfrom khabar.cli import main\n"
        f"try:\n    main({[*command, '--help']!r})\nexcept SystemExit as exit:\n    assert exit.code == 0, exit.code\n"
        f"loaded = [name for name in {HEAVY!r} if name in sys.modules]\nassert not loaded, loaded\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: khabar")


def test_analyze_and_evaluate_share_the_device_default():
    from khabar.cli import build_parser
    from khabar.options import DEFAULT_DEVICE

    parser = build_parser()
    analyze = parser.parse_args(["analyze", "--ner", "x"])
    evaluate = parser.parse_args(["evaluate", "--model", "x", "--data", "y"])
    assert analyze.device == evaluate.device == DEFAULT_DEVICE == "auto"
