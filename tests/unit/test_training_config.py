"""Experiment configs: validation, env-var paths, dotted overrides, the shipped YAML files."""

from __future__ import annotations

from pathlib import Path

import pytest

from khabar.errors import ConfigError
from khabar.training.config import load_config, packaged_config_names, save_config

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "src" / "khabar" / "configs"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "experiment.yaml"
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = "task: ner\ndata:\n  train: ${KHABAR_TEST_DATA}/train.txt\n"


def test_env_vars_expand_and_defaults_fill_in(tmp_path, monkeypatch):
    monkeypatch.setenv("KHABAR_TEST_DATA", "/corpora")
    config = load_config(write(tmp_path, MINIMAL))
    assert config.data.train == "/corpora/train.txt"
    assert config.training.learning_rate == pytest.approx(5e-5)


def test_unset_env_var_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("KHABAR_TEST_DATA", raising=False)
    with pytest.raises(ConfigError, match=r"KHABAR_TEST_DATA"):
        load_config(write(tmp_path, MINIMAL))


def test_unknown_key_is_an_error_that_lists_known_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("KHABAR_TEST_DATA", "/x")
    path = write(tmp_path, MINIMAL + "training:\n  learnig_rate: 1e-4\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) learnig_rate.*learning_rate"):
        load_config(path)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("training.epochs=0", "training.epochs must be >= 1"),
        ("training.batch_size=many", "expected an integer"),
        ("model.pooling=median", "not one of"),
        ("model.stride=500", "model.stride must be in"),
        ("task=parsing", "not one of"),
        ("training.freeze_word_embeddings=maybe", "expected true or false"),
        ("model.normalization.unify_hamza=true", "unify_hamza"),
        ("epochs", "section.key=value"),
        ("model.attention_dropout=1.5", "model.attention_dropout must be in"),
        ("model.classifier_pooling=max", "not one of"),
        ("model.attn_implementation=flash", "not one of"),
        ("data.dev_fraction=1.0", "data.dev_fraction must be in"),
        ("training.layer_lr_decay=0", "training.layer_lr_decay must be in"),
        ("training.layer_lr_decay=1.5", "training.layer_lr_decay must be in"),
    ],
)
def test_bad_values_are_rejected(tmp_path, monkeypatch, override, message):
    monkeypatch.setenv("KHABAR_TEST_DATA", "/x")
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, MINIMAL), [override])


def test_overrides_are_parsed_as_yaml_and_resolved_config_round_trips(tmp_path, monkeypatch):
    monkeypatch.setenv("KHABAR_TEST_DATA", "/x")
    config = load_config(
        write(tmp_path, MINIMAL),
        ["training.learning_rate=1e-4", "model.label_all_subtokens=true", "data.labels=[O, B-PERS, I-PERS]"],
        output_dir=str(tmp_path / "run"),
    )
    assert config.training.learning_rate == pytest.approx(1e-4)
    assert config.model.label_all_subtokens is True
    assert config.data.labels == ["O", "B-PERS", "I-PERS"]
    save_config(config, tmp_path / "resolved.yaml")
    again = load_config(tmp_path / "resolved.yaml")
    assert again == config


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


EXPERIMENTS = sorted([*(CONFIGS / "ner").glob("*.yaml"), *(CONFIGS / "topics").glob("*.yaml")])


def test_every_shipped_experiment_config_has_a_name_that_loads_the_same_file(monkeypatch, tmp_path):
    monkeypatch.setenv("KHABAR_DATA_DIR", "/data")
    monkeypatch.chdir(tmp_path)  # names work from any folder
    assert packaged_config_names() == [f"{path.parent.name}/{path.stem}" for path in EXPERIMENTS]
    for path in EXPERIMENTS:
        assert load_config(f"{path.parent.name}/{path.stem}") == load_config(path)


def test_unknown_config_name_is_one_error_listing_the_packaged_names(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"'ner/tinny' is neither a file nor a packaged config.*ner/tiny, "):
        load_config("ner/tinny")
    with pytest.raises(ConfigError, match=r"packaged configs: .*topics/tiny"):
        load_config("accelerate/cpu")  # accelerate's files are not experiments


def test_an_existing_path_wins_over_a_name_and_a_yaml_suffix_is_always_a_path(monkeypatch, tmp_path):
    monkeypatch.setenv("KHABAR_TEST_DATA", "/x")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ner").mkdir()
    (tmp_path / "ner" / "tiny").write_text(MINIMAL + "output_dir: mine\n", encoding="utf-8")
    assert load_config("ner/tiny").output_dir == "mine"
    with pytest.raises(ConfigError, match=r"not found: ner/tiny.yaml \(the packaged config is --config ner/tiny\)"):
        load_config("ner/tiny.yaml")
    with pytest.raises(ConfigError, match=r"config file not found: configs/topics/tiny.yml \(.*--config topics/tiny\)"):
        load_config("configs/topics/tiny.yml")


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shipped_experiment_config_validates(path, monkeypatch):
    monkeypatch.setenv("KHABAR_DATA_DIR", "/data")
    config = load_config(path)
    assert config.task == path.parent.name


def test_zero_dev_fraction_trains_on_all_of_train_and_forbids_early_stopping(tmp_path, monkeypatch):
    monkeypatch.setenv("KHABAR_TEST_DATA", "/x")
    config = load_config(write(tmp_path, MINIMAL), ["data.dev_fraction=0"])
    assert not config.has_dev
    assert load_config(write(tmp_path, MINIMAL)).has_dev
    with pytest.raises(ConfigError, match="early_stopping_patience needs a dev split"):
        load_config(write(tmp_path, MINIMAL), ["data.dev_fraction=0", "training.early_stopping_patience=2"])


@pytest.mark.parametrize(("value", "expected"), [("no", "no"), ("fp32", "fp32"), ("auto", "auto"), ("bf16", "bf16")])
def test_mixed_precision_override_keeps_yaml_11_words_as_strings(tmp_path, monkeypatch, value, expected):
    monkeypatch.setenv("KHABAR_TEST_DATA", "/x")
    config = load_config(write(tmp_path, MINIMAL), [f"training.mixed_precision={value}"])
    assert config.training.mixed_precision == expected


def test_mixed_precision_defaults_to_auto_and_no_in_a_file_is_a_string(tmp_path, monkeypatch):
    monkeypatch.setenv("KHABAR_TEST_DATA", "/x")
    assert load_config(write(tmp_path, MINIMAL)).training.mixed_precision == "auto"
    config = load_config(write(tmp_path, MINIMAL + "training:\n  mixed_precision: no\n"))
    assert config.training.mixed_precision == "no"
    with pytest.raises(ConfigError, match=r"training.mixed_precision: 'fp8' is not one of"):
        load_config(write(tmp_path, MINIMAL), ["training.mixed_precision=fp8"])


@pytest.mark.parametrize(("word", "expected"), [("yes", True), ("on", True), ("no", False), ("off", False),
                                                ("true", True), ("False", False)])
def test_boolean_settings_still_accept_yaml_11_words(tmp_path, monkeypatch, word, expected):
    monkeypatch.setenv("KHABAR_TEST_DATA", "/x")
    config = load_config(write(tmp_path, MINIMAL), [f"training.freeze_word_embeddings={word}"])
    assert config.training.freeze_word_embeddings is expected
    with pytest.raises(ConfigError, match="expected true or false"):
        load_config(write(tmp_path, MINIMAL), ["training.freeze_word_embeddings=maybe"])


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_configs_leave_precision_to_the_hardware(path, monkeypatch):
    monkeypatch.setenv("KHABAR_DATA_DIR", "/data")
    assert load_config(path).training.mixed_precision == "auto"
