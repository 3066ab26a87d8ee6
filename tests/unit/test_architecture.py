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
