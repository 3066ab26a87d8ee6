"""One prediction path: for one checkpoint, text and precision, every way khabar predicts gives the same result.

CoNLL evaluation, `Analyzer.word_labels` and training's dev evaluation give the same tags for the same words
and sentences; `khabar evaluate --format spans` and `khabar analyze` give the same entities. The text is a real
article, split by the Analyzer's own segmentation and written out as CoNLL so that all paths read the same words.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from accelerate import Accelerator

from khabar.checkpoint import METADATA_FILE, read_metadata
from khabar.cli import main
from khabar.data import read_conll
from khabar.evaluation import evaluate_ner_conll, evaluate_ner_spans
from khabar.evaluation.conll import predict_conll_tags
from khabar.evaluation.ner_metrics import score_entities
from khabar.inference import Analyzer, load_checkpoint
from khabar.text import split_sentences, split_words
from khabar.training import load_config
from khabar.training.ner import NerTask
from khabar.training.run import _allow_precision
from tests.integration.conftest import TINY_NER_CONFIG

ARTICLE_CHARACTERS = 2500  # enough for many sentences and several windows, quick on 2 CPUs


@pytest.fixture(scope="module", params=["tiny-trained", "random-packed"])
def checkpoint(request, tiny_ner_checkpoint: Path, random_ner_checkpoint: Path, tmp_path_factory) -> Path:
    """The tiny trained checkpoint (sentence context), and the random one served with packed sentences."""
    if request.param == "tiny-trained":
        return tiny_ner_checkpoint
    folder = tmp_path_factory.mktemp("random-packed") / "checkpoint"
    shutil.copytree(random_ner_checkpoint, folder)
    metadata = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
    (folder / METADATA_FILE).write_text(json.dumps({**metadata, "context": "packed"}), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def article(example_article: str) -> str:
    return example_article[:ARTICLE_CHARACTERS]


@pytest.fixture(scope="module")
def sentences(article: str) -> list[list[str]]:
    """The article's words, grouped as the Analyzer groups them into sentences."""
    words = split_words(article)
    groups: list[list[str]] = []
    sentence_spans = iter(split_sentences(article)[1:])
    next_start = next(sentence_spans, None)
    for word in words:
        while next_start is not None and word.start >= next_start.start:
            groups.append([])
            next_start = next(sentence_spans, None)
        if not groups:
            groups.append([])
        groups[-1].append(word.text)
    return [group for group in groups if group]


@pytest.fixture(scope="module")
def conll_file(sentences: list[list[str]], tmp_path_factory) -> Path:
    """The sentences as CoNLL; gold marks each sentence's first word B-LOC (only the predictions matter here)."""
    path = tmp_path_factory.mktemp("one-path") / "article.conll"
    lines = []
    for words in sentences:
        lines.extend(f"{word} {'B-LOC' if index == 0 else 'O'}" for index, word in enumerate(words))
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _split(tags: list[str], sentences: list[list[str]]) -> list[list[str]]:
    out, start = [], 0
    for words in sentences:
        out.append(tags[start : start + len(words)])
        start += len(words)
    return out


def test_conll_evaluation_analyzer_and_training_dev_give_the_same_tags(checkpoint, article, sentences, conll_file):
    assert len(sentences) > 5
    read = read_conll(conll_file)
    assert [list(s.words) for s in read] == sentences  # the CoNLL file holds exactly the Analyzer's words

    conll_tags, loaded = predict_conll_tags(checkpoint, read, device="cpu", precision="fp32")
    report = evaluate_ner_conll(checkpoint, conll_file, device="cpu", precision="fp32")
    expected = score_entities([list(s.tags) for s in read], conll_tags)
    assert report.results["default"]["micro"]["f1"] == pytest.approx(expected.micro.f1)
    assert report.settings["precision"] == "fp32" and report.settings["device"] == "cpu"
    assert report.settings["decoding"] == "constrained"

    analyzer = Analyzer.load(ner=checkpoint, device="cpu", precision="fp32")
    analyzer_words = analyzer.word_labels(article)
    assert _split([word.label for word in analyzer_words], sentences) == conll_tags

    metadata = read_metadata(checkpoint)
    labels = "[" + ",".join(metadata.labels) + "]"
    config = load_config(TINY_NER_CONFIG, [
        f"data.train={conll_file}", f"data.dev={conll_file}", f"data.labels={labels}",
        f"model.backbone={checkpoint}", f"model.max_length={metadata.max_length}",
        f"model.stride={metadata.stride}", f"model.context={metadata.context}",
    ], output_dir=str(conll_file.parent / "unused-run"))
    task = NerTask(config)
    task.restore(metadata)
    model = load_checkpoint(checkpoint, "ner", device="cpu").model
    _allow_precision("no")  # fp32 like the other paths, whatever an earlier in-process run used
    predictor = task.predictor(model, Accelerator(cpu=True, mixed_precision="no"))
    dev_words = [s.words for s in task.split_examples("dev")]
    training = predictor.predict_sentences(dev_words)
    assert [result.tags for result in training] == conll_tags
    # The probabilities agree too, so the equal tags are not an accident of a model that says O everywhere.
    training_scores = [score for result in training for score in result.scores]
    assert training_scores == pytest.approx([word.score for word in analyzer_words], rel=1e-6)
    assert len(set(training_scores)) > len(training_scores) // 2
    assert loaded.precision == "fp32" and next(model.parameters()).dtype == torch.float32


def test_span_evaluation_and_khabar_analyze_give_the_same_entities(checkpoint, article, tmp_path, capsys):
    # Gold holds one span no model predicts exactly, so every document's predictions are listed in the errors.
    spans = tmp_path / "article.jsonl"
    documents = [{"id": "a", "text": article, "entities": [{"start": 0, "end": 1, "label": "LOC"}]},
                 {"id": "b", "text": article[700:], "entities": [{"start": 0, "end": 1, "label": "LOC"}]}]
    spans.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in documents), encoding="utf-8")
    report = evaluate_ner_spans(checkpoint, spans, device="cpu", precision="fp32")
    evaluated = {e["id"]: [(p["start"], p["end"], p["label"]) for p in e["predicted"]] for e in report.errors}

    output = tmp_path / "analysed.jsonl"
    status = main(["analyze", "--ner", str(checkpoint), "--jsonl", str(spans), "--output", str(output),
                   "--precision", "fp32", "--device", "cpu"])
    assert status == 0, capsys.readouterr().err
    analysed = {}
    for line in output.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        analysed[record["id"]] = [(e["start"], e["end"], e["label"]) for e in record["entities"]]
    assert analysed == {key: evaluated.get(key, []) for key in analysed}
    assert set(analysed) == {"a", "b"}
    if "random" in str(checkpoint):  # the random checkpoint predicts entities; the tiny trained one may not
        assert any(analysed.values())
