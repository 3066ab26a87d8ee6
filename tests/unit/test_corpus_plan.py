"""Corpus runs: how chunks are shared between processes, input totals, and the cut-off line a kill leaves."""

from __future__ import annotations

import json

import pytest

from khabar.corpus import FileSource, OutputPlan, ProcessLayout
from khabar.corpus.run import _share, invalid_text_reason


@pytest.mark.parametrize(("total", "chunk", "processes", "expected"),
                         [(150, 64, 2, [86, 64]), (150, 64, 1, [150]), (10, 4, 3, [4, 4, 2]), (3, 64, 2, [3, 0])])
def test_progress_totals_are_each_process_share_of_the_chunks(total, chunk, processes, expected):
    shares = [_share(total, chunk, ProcessLayout(rank, processes)) for rank in range(processes)]
    assert shares == expected and sum(shares) == total
    assert _share(None, chunk, ProcessLayout()) is None


def test_file_totals_count_records_not_blank_lines(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "x"}\n\n{"text": "y"}\n  \n', encoding="utf-8")
    (tmp_path / "b.txt").write_text("one document\n\nof two paragraphs", encoding="utf-8")
    source = FileSource([str(tmp_path / "a.jsonl"), str(tmp_path / "b.txt")])
    assert source.total() == 3 and len(list(source)) == 3


def test_resume_removes_a_cut_off_last_line_and_counts_repeated_ids(tmp_path):
    plan = OutputPlan(tmp_path / "out.jsonl")
    lines = [json.dumps({"id": name}) + "\n" for name in ("a", "b", "a")]
    plan.path.write_text("".join(lines) + '{"id": "c", "te', encoding="utf-8")
    assert plan.done_ids() == {"a": 2, "b": 1}
    assert plan.path.read_text(encoding="utf-8") == "".join(lines)


def test_lone_surrogates_are_named_with_their_offset():
    assert invalid_text_reason("نص سليم") is None
    assert invalid_text_reason("ab\ud800c") == "text is not valid Unicode: lone surrogate U+D800 at offset 2"
