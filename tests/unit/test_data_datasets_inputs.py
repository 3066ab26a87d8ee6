"""Training and evaluation inputs through `datasets`: save_to_disk folders, parquet, token JSONL and `hf:` specs,
with column mapping, ClassLabel ids, khabar's own exports read back, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

from khabar.checkpoint import file_fingerprint
from khabar.data import TaggedSentence, TopicDocument, ner_dataset, read_conll, read_topics, topic_dataset
from khabar.data.examples import detect_ner_format, read_ner_examples
from khabar.data.hf_inputs import data_fingerprint, is_table_source
from khabar.errors import DataFormatError
from khabar.training.config import DataConfig

LABELS = ["O", "B-PERS", "I-PERS", "B-LOC", "I-LOC"]
SENTENCES = [
    TaggedSentence(("زار", "كيشيدا", "طوكيو"), ("O", "B-PERS", "B-LOC")),
    TaggedSentence(("في", "القاهرة", "الجديدة"), ("O", "B-LOC", "I-LOC")),
]
TOPICS = ["politics", "sports"]
DOCUMENTS = [
    TopicDocument("a1", "نص الخبر", ("sports",), title="عنوان"),
    TopicDocument("a2", "نص آخر", ("politics", "sports")),
]


def _string_rows(tmp_path: Path, rows: dict, name: str = "rows.parquet") -> Path:
    path = tmp_path / name
    datasets.Dataset.from_dict(rows).to_parquet(str(path))
    return path


@pytest.fixture
def ner_export() -> datasets.Dataset:
    return ner_dataset(SENTENCES, LABELS)


@pytest.mark.parametrize("kind", ["save_to_disk", "parquet", "dict_split"])
def test_khabar_ner_exports_read_back_as_training_data(ner_export, tmp_path, kind):
    if kind == "save_to_disk":
        ner_export.save_to_disk(str(tmp_path / "folder"))
        source = str(tmp_path / "folder")
    elif kind == "parquet":
        ner_export.to_parquet(str(tmp_path / "ner.parquet"))
        source = str(tmp_path / "ner.parquet")
    else:
        datasets.DatasetDict({"train": ner_export, "test": ner_export}).save_to_disk(str(tmp_path / "dict"))
        source = f"{tmp_path / 'dict'}@test"
    assert detect_ner_format(source) == "datasets"
    sentences = read_ner_examples(source)
    assert sentences == SENTENCES
    assert sentences[1].source == f"{source} row 1"


def test_ner_to_json_export_needs_the_label_names_for_its_ids(ner_export, tmp_path):
    path = tmp_path / "ner.jsonl"
    ner_export.to_json(str(path))
    assert detect_ner_format(path) == "datasets"
    with pytest.raises(DataFormatError, match=r"ner\.jsonl:1: tag 0 is an integer id .* set data\.labels"):
        read_ner_examples(path)
    assert read_ner_examples(path, labels=LABELS) == SENTENCES


def test_token_jsonl_with_string_tags_and_span_jsonl_are_told_apart(tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"tokens": ["في", "القاهرة"], "ner_tags": ["O", "B-LOC"]}) + "\n", encoding="utf-8")
    spans = tmp_path / "spans.jsonl"
    spans.write_text(json.dumps({"text": "في القاهرة", "entities": []}) + "\n", encoding="utf-8")
    assert (detect_ner_format(rows), detect_ner_format(spans)) == ("datasets", "spans")
    assert read_ner_examples(rows)[0].tags == ("O", "B-LOC")


def test_column_mapping_string_tags_and_scheme_conversion(tmp_path):
    rows = {"toks": [["-DOCSTART-"], ["أ", "ب", "ج"]], "labs": [["O"], ["S-LOC", "B-ORG", "E-ORG"]]}
    path = _string_rows(tmp_path, rows)
    sentences = read_ner_examples(path, tokens_column="toks", tags_column="labs")
    assert [(s.words, s.tags) for s in sentences] == [(("أ", "ب", "ج"), ("B-LOC", "B-ORG", "I-ORG"))]


def test_hub_style_classlabel_features_map_ids_to_names(tmp_path):
    features = datasets.Features({
        "tokens": datasets.List(datasets.Value("string")),
        "ner_tags": datasets.List(datasets.ClassLabel(names=["O", "B-PER", "I-PER"])),
    })
    data = datasets.Dataset.from_dict({"tokens": [["a", "b"]], "ner_tags": [[1, 2]]}, features=features)
    data.save_to_disk(str(tmp_path / "hub-like"))
    assert read_ner_examples(tmp_path / "hub-like")[0].tags == ("B-PER", "I-PER")


def test_evaluation_reader_read_conll_takes_parquet_and_checks_labels(ner_export, tmp_path):
    path = tmp_path / "test.parquet"
    ner_export.to_parquet(str(path))
    assert read_conll(path) == SENTENCES
    with pytest.raises(DataFormatError, match=r"test\.parquet row 0: unknown tag 'B-PERS'"):
        read_conll(path, labels=["LOC"])


def test_missing_column_names_the_columns_there_are(tmp_path):
    path = _string_rows(tmp_path, {"words_x": [["a"]], "ner_tags": [["O"]]})
    with pytest.raises(DataFormatError, match=r"no tokens column 'tokens' or 'words': the columns are 'words_x', "
                                              r"'ner_tags' \(set data\.tokens_column\)"):
        read_ner_examples(path)
    with pytest.raises(DataFormatError, match=r"no tags column 'bio'.*check the column name"):
        read_ner_examples(path, tokens_column="words_x", tags_column="bio")


def test_length_mismatch_names_the_row(tmp_path):
    path = _string_rows(tmp_path, {"tokens": [["a"], ["b", "c"]], "ner_tags": [["O"], ["O"]]})
    with pytest.raises(DataFormatError, match=r"rows\.parquet row 1: 2 tokens but 1 tags"):
        read_ner_examples(path)


def test_tag_errors_are_quoted_with_their_row(tmp_path):
    path = _string_rows(tmp_path, {"tokens": [["a"]], "ner_tags": [["PERSON"]]})
    with pytest.raises(DataFormatError, match=r"row 0: malformed tag 'PERSON'"):
        read_ner_examples(path)
    features = datasets.Features({"tokens": datasets.List(datasets.Value("string")),
                                  "ner_tags": datasets.List(datasets.Value("int64"))})
    datasets.Dataset.from_dict({"tokens": [["a"]], "ner_tags": [[7]]}, features=features).save_to_disk(
        str(tmp_path / "ids"))
    with pytest.raises(DataFormatError, match=r"row 0: tag id 7 is outside the 5 label names"):
        read_ner_examples(tmp_path / "ids", labels=LABELS)


def test_dataset_dict_needs_a_known_split(ner_export, tmp_path):
    folder = tmp_path / "dict"
    datasets.DatasetDict({"train": ner_export, "test": ner_export}).save_to_disk(str(folder))
    with pytest.raises(DataFormatError, match=rf"a DatasetDict needs a split: use one of {folder}@train, {folder}@"):
        read_ner_examples(folder)
    with pytest.raises(DataFormatError, match=r"no split 'dev'"):
        read_ner_examples(f"{folder}@dev")
    ner_export.save_to_disk(str(tmp_path / "one"))
    with pytest.raises(DataFormatError, match=r"holds one Dataset, not a DatasetDict: drop '@train'"):
        read_ner_examples(f"{tmp_path / 'one'}@train")


def test_folders_and_files_that_are_not_datasets(tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(DataFormatError, match=r"not a `datasets` save_to_disk folder"):
        read_ner_examples(tmp_path / "plain")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataFormatError, match=r"bad\.parquet: not a readable parquet file"):
        read_topics(tmp_path / "bad.parquet")
    assert not is_table_source(tmp_path / "missing@train")


def test_hub_spec_offline_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    with pytest.raises(DataFormatError) as raised:
        read_ner_examples("hf:khabar-test/no-such-corpus:msa@train")
    assert str(raised.value) == (
        "hf:khabar-test/no-such-corpus:msa@train: dataset 'khabar-test/no-such-corpus' is not in the local datasets "
        "cache and the Hub is offline (HF_HUB_OFFLINE=1); download it once online, or save it with save_to_disk "
        "and give that folder"
    )
    with pytest.raises(DataFormatError, match=r"hf:NAME\[:CONFIG\]@SPLIT"):
        read_topics("hf:org/name")


@pytest.mark.parametrize("multi_label", [True, False])
@pytest.mark.parametrize("kind", ["save_to_disk", "parquet"])
def test_khabar_topic_exports_read_back(tmp_path, kind, multi_label):
    documents = DOCUMENTS if multi_label else DOCUMENTS[:1]
    export = topic_dataset(documents, TOPICS, multi_label=multi_label)
    source = tmp_path / ("topics" if kind == "save_to_disk" else "topics.parquet")
    export.save_to_disk(str(source)) if kind == "save_to_disk" else export.to_parquet(str(source))
    read = read_topics(source)
    assert [(d.id, d.full_text, d.labels) for d in read] == [(d.id, d.full_text, d.labels) for d in documents]


def test_topic_to_json_export_reads_back_with_the_label_names(tmp_path):
    path = tmp_path / "topics.jsonl"
    topic_dataset(DOCUMENTS, TOPICS, multi_label=True).to_json(str(path))
    with pytest.raises(DataFormatError, match=r"topics\.jsonl:1: labels must .* \[1\] \(integer ids.*data\.labels"):
        read_topics(path)
    assert [d.labels for d in read_topics(path, labels=TOPICS)] == [("sports",), ("politics", "sports")]
    with pytest.raises(DataFormatError, match=r"label id 1 is outside the 1 label names"):
        read_topics(path, labels=["politics"])


def test_topic_columns_and_unknown_labels(tmp_path):
    path = _string_rows(tmp_path, {"body": ["نص", "نص ثان"], "topic": ["sports", "weather"]})
    with pytest.raises(DataFormatError, match=r"no text column 'text' or 'Content' or 'content': the columns are "
                                              r"'body', 'topic' \(set data\.text_column\)"):
        read_topics(path)
    read = read_topics(path, text_column="body", label_column="topic")
    assert [(d.id, d.labels) for d in read] == [("rows-0", ("sports",)), ("rows-1", ("weather",))]
    with pytest.raises(DataFormatError, match=r"rows\.parquet row 1: unknown label 'weather' \(known: sports\)"):
        read_topics(path, text_column="body", label_column="topic", labels=["sports"])


def test_fingerprint_covers_folders_and_matches_files(ner_export, tmp_path):
    ner_export.to_parquet(str(tmp_path / "a.parquet"))
    ner_export.save_to_disk(str(tmp_path / "folder"))
    assert data_fingerprint([tmp_path / "a.parquet"]) == file_fingerprint([tmp_path / "a.parquet"])
    assert data_fingerprint([tmp_path / "folder"]) == data_fingerprint([tmp_path / "folder"]) is not None
    assert data_fingerprint(["hf:org/name@train"]) is None


def test_data_config_takes_the_datasets_settings():
    config = DataConfig(train="hf:org/name@train", format="datasets", tokens_column="toks", tags_column="bio")
    assert (config.tokens_column, config.tags_column) == ("toks", "bio")
