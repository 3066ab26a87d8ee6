"""The team's proclitic gold set: well-formed, big enough for the issue's figures, its JSONL built from the markup."""

from __future__ import annotations

import functools
import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from khabar.data import read_span_jsonl
from khabar.evaluation.spans import gold_span_convention

REPO = Path(__file__).resolve().parents[2]
GOLD = REPO / "benchmarks" / "data" / "proclitic-gold"


@functools.cache
def _gold_module():
    spec = importlib.util.spec_from_file_location("proclitic_gold", REPO / "benchmarks" / "proclitic_gold.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_the_markup_is_well_formed_and_meets_the_counts_the_issue_asks_for():
    gold = _gold_module()
    documents, problems = [], []
    for path in sorted((GOLD / "raw").glob("*.txt")):
        found, found_problems = gold.read_markup(path)
        documents += found
        problems += found_problems
    assert problems == []
    counts = gold.counts(documents)
    assert counts["entities"] >= 400
    assert counts["with_proclitic"] >= counts["entities"] / 2
    assert counts["name_initial"] >= 100
    assert all(counts["name_initial_by_letter"].get(letter, 0) >= 20 for letter in "وفبلك")
    assert counts["fused_lam_article"] >= 20 and counts["with_diacritics"] >= 5 and counts["with_tatweel"] >= 3


def test_the_committed_jsonl_is_what_the_markup_builds(tmp_path):
    shutil.copytree(GOLD / "raw", tmp_path / "raw")
    assert _gold_module().build(tmp_path) == 0
    for split in ("dev", "test"):
        assert (tmp_path / f"{split}.jsonl").read_text(encoding="utf-8") == (GOLD / f"{split}.jsonl").read_text(
            encoding="utf-8"
        ), f"{split}.jsonl is stale: run python benchmarks/proclitic_gold.py build"
    dev = {d.id for d in read_span_jsonl(GOLD / "dev.jsonl")}
    test = {d.id for d in read_span_jsonl(GOLD / "test.jsonl")}
    assert dev and test and not dev & test


def test_the_markup_checker_names_the_line_and_the_problem(tmp_path):
    gold = _gold_module()
    _, problems = gold.parse_line("زار وبا<LOC>لصين</LOC> و<FOO>x</FOO> <LOC>كندا</LOC>ها <PERS>وليد", "f.txt:3")
    assert any("f.txt:3: 'وبا' glued before 'لصين' is not a proclitic sequence" in p for p in problems)
    assert any("unknown label <FOO>" in p for p in problems)
    assert any("'كندا' is followed by letters" in p for p in problems)
    assert any("<PERS> is never closed" in p for p in problems)


@pytest.mark.parametrize("split", ["dev", "test"])
def test_the_gold_marks_bare_names(split):
    documents = read_span_jsonl(GOLD / f"{split}.jsonl")
    convention = gold_span_convention(documents)
    assert convention["convention"].startswith("bare names") and convention["entities_after_proclitics"] > 100
