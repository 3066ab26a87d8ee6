"""Every `>>>` example in khabar's docstrings runs here and must print what it says: no skipped examples."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "khabar"
MODULES = sorted(
    ".".join(("khabar", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
    for path in PACKAGE.rglob("*.py")
    if path.name != "__main__.py"
)
def _source(name: str) -> Path:
    module_file = PACKAGE.parent / (name.replace(".", "/") + ".py")
    return module_file if module_file.is_file() else PACKAGE.parent / name.replace(".", "/") / "__init__.py"


def test_no_example_is_skipped():
    skipped = [name for name in MODULES if "doctest: +SKIP" in _source(name).read_text(encoding="utf-8")]
    assert not skipped, f"examples that never run: {skipped}; make them run or write them as prose"


@pytest.mark.parametrize("name", [n for n in MODULES if ">>>" in _source(n).read_text(encoding="utf-8")])
def test_docstring_examples_run(name: str):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(module)
    assert sum(len(test.examples) for test in tests) > 0, f"{name}: no examples found"
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed (see output above)"
