"""Packed sentence context: the same words are predicted once each, and one sentence alone reads as unpacked."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertForTokenClassification

from khabar.backbones import OFFLINE_E5_SMALL, prepare
from khabar.errors import BackboneError
from khabar.features import WordTokenizer, packed_sentence_windows
from khabar.inference import NerPredictor


@pytest.fixture(scope="module")
def words_tokenizer() -> WordTokenizer:
    try:
        folder: Path = prepare(OFFLINE_E5_SMALL, progress=False)
    except BackboneError as error:
        pytest.skip(f"offline backbone unavailable: {error}")
    return WordTokenizer(AutoTokenizer.from_pretrained(folder), max_length=32)


@pytest.fixture(scope="module")
def random_model() -> BertForTokenClassification:
    torch.manual_seed(0)
    config = BertConfig(vocab_size=250037, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, num_labels=3)
    return BertForTokenClassification(config).eval()


SENTENCES = [["زار", "الرئيس", "القاهرة"] * k for k in (1, 5, 2, 9, 1)]


def test_packed_windows_hold_whole_sentences_and_label_every_word(words_tokenizer):
    pieces = [words_tokenizer(s) for s in SENTENCES]
    tags = [[i % 3 for i in range(len(s))] for s in SENTENCES]
    windows, starts = packed_sentence_windows(pieces, words_tokenizer, stride=8, tags_per_sentence=tags)
    assert starts == [0, 3, 18, 24, 51]
    owned = sorted(w for window in windows for w in window.first_token_positions())
    assert owned == list(range(sum(len(s) for s in SENTENCES)))
    assert all(len(window) <= 32 for window in windows)
    assert len(windows) < sum(1 for _ in SENTENCES) + 3  # short sentences share windows


def test_packed_prediction_covers_each_sentence_and_matches_unpacked_for_one_sentence(words_tokenizer, random_model):
    labels = ["O", "B-LOC", "I-LOC"]
    packing = NerPredictor(random_model, words_tokenizer, labels, stride=8, pack_sentences=True)
    alone = NerPredictor(random_model, words_tokenizer, labels, stride=8, pack_sentences=False)
    packed = packing.predict_sentences(SENTENCES)
    assert [r.probabilities.shape[0] for r in packed] == [len(s) for s in SENTENCES]
    assert [len(r.tags) for r in packed] == [len(s) for s in SENTENCES]
    (one_packed,) = packing.predict_sentences(SENTENCES[:1])
    (one_alone,) = alone.predict_sentences(SENTENCES[:1])
    torch.testing.assert_close(torch.from_numpy(one_packed.probabilities), torch.from_numpy(one_alone.probabilities))
