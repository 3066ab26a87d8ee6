"""docs/architecture.md's import rules hold: each part imports only the parts its row allows."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "khabar"
ARCHITECTURE = REPO / "docs" / "architecture.md"


def allowed_imports() -> dict[str, set[str]]:
    """The table of docs/architecture.md: part -> the parts it may import."""
    rules: dict[str, set[str]] = {}
    row = re.compile(r"^\| `([a-z_]+)/?` \| [^|]+ \| ([^|]+) \|$")
    parts_seen: list[str] = []
    for line in ARCHITECTURE.read_text(encoding="utf-8").splitlines():
        match = row.match(line)
        if match:
            part, allowed = match.group(1), match.group(2).strip()
            parts_seen.append(part)
            rules[part] = set() if allowed == "nothing" else {name.strip() for name in allowed.split(",")}
    for part, allowed in rules.items():
        if allowed == {"any part except quickstart"}:
            rules[part] = set(parts_seen) - {"quickstart", part}
    return rules


def part_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def imported_parts(path: Path) -> set[str]:
    """Top-level khabar parts a module imports, at module level or inside functions."""
    parts = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            pieces = name.split(".")
            if pieces[0] == "khabar" and len(pieces) > 1:
                parts.add(pieces[1])
    return parts


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


def test_the_table_covers_every_part_of_the_package():
    rules = allowed_imports()
    assert {part_of(path) for path in MODULES} == set(rules)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_what_its_part_may(path):
    part = part_of(path)
    forbidden = imported_parts(path) - allowed_imports()[part] - {part}
    assert not forbidden, f"{path.relative_to(PACKAGE)} ({part}) imports {sorted(forbidden)}: see docs/architecture.md"


def _model_calls(path: Path) -> list[tuple[str, int]]:
    """(enclosing function, line) of each call to something named `model` or `*.model`, or to `.forward(...)`."""
    calls = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, child.name)
                continue
            if isinstance(child, ast.Call):
                callee = child.func
                name = callee.id if isinstance(callee, ast.Name) else getattr(callee, "attr", None)
                if name in ("model", "forward"):
                    calls.append((function, child.lineno))
            visit(child, function)

    visit(ast.parse(path.read_text(encoding="utf-8")), "<module>")
    return calls


def test_only_inference_runs_a_model_forward():
    """Predictions come from khabar.inference alone; training may call its model only to compute the loss."""
    for path in MODULES:
        part = part_of(path)
        for function, line in _model_calls(path):
            allowed = part == "inference" or (part == "training" and function == "loss")
            assert allowed, f"{path.relative_to(PACKAGE)}:{line} ({function}) runs a model: use khabar.inference"


def test_the_forward_check_sees_model_calls():
    """The check above is not vacuous: it finds the forward pass in inference/forward.py and the training losses."""
    assert any(function == "predict_windows" for function, _ in _model_calls(PACKAGE / "inference" / "forward.py"))
    assert [function for function, _ in _model_calls(PACKAGE / "training" / "ner.py")] == ["loss"]


@pytest.mark.parametrize("part", ["text", "data"])
def test_text_and_data_import_nothing_from_training_inference_or_cli(part):
    for path in (PACKAGE / part).rglob("*.py"):
        assert not imported_parts(path) & {"training", "inference", "cli"}, path.relative_to(PACKAGE)


def test_cards_and_the_card_command_import_neither_evaluation_nor_torch():
    import subprocess
    import sys

    code = (
        "import sys, khabar.cards, khabar.cli.card\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'sklearn', 'seqeval')"
        " or m.startswith('khabar.evaluation'))\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
