"""Checkpoints plain transformers users can run, in a process that never imports khabar.

- NER: `AutoModelForTokenClassification`, `AutoTokenizer` and `pipeline("token-classification")`.
- Topics (mean pooling): the folder ships its modelling file (`modeling.py`, `auto_map` in config.json), so
  `from_pretrained(folder, trust_remote_code=True)` gives the same probabilities as khabar on a one-window text,
  and the tuned thresholds sit in config.json. khabar itself loads the same folder without remote code.
- Tokenizer files name a class transformers 4.x knows too (`PreTrainedTokenizerFast`), with no loader-only keys.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from khabar.inference import Analyzer

REPO = Path(__file__).resolve().parents[2]
TINY_TOPICS_CONFIG = REPO / "src" / "khabar" / "configs" / "topics" / "tiny.yaml"
TEXT = "اتفق رئيس الوزراء الياباني والرئيس الأمريكي على تعزيز التعاون الاقتصادي والأمني بين البلدين"


def run_without_khabar(code: str, tmp_path: Path) -> dict:
    """Run `code` in a fresh interpreter outside the source tree; it prints one JSON object; khabar never loads."""
    script = code + "\nimport sys\nassert not [m for m in sys.modules if m.split('.')[0] == 'khabar'], 'khabar'\n"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": ""}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def trained_topics(small_backbone: Path, tmp_path_factory) -> Path:
    from khabar.training import load_config, train

    output = tmp_path_factory.mktemp("topics-run")
    overrides = [f"model.backbone={small_backbone}", "data.max_eval_examples=8", "data.multi_label=true"]
    config = load_config(TINY_TOPICS_CONFIG, overrides, output_dir=str(output))
    return train(config).best_dir


def test_topic_checkpoints_load_in_plain_transformers_with_the_same_probabilities(trained_topics, tmp_path):
    files = {path.name for path in trained_topics.iterdir()}
    assert {"modeling.py", "config.json", "model.safetensors", "khabar.json"} <= files
    config = json.loads((trained_topics / "config.json").read_text(encoding="utf-8"))
    metadata = json.loads((trained_topics / "khabar.json").read_text(encoding="utf-8"))
    assert config["auto_map"]["AutoModelForSequenceClassification"].startswith("modeling.")
    assert metadata["multi_label"] and config["thresholds"] == metadata["thresholds"]

    expected = Analyzer.load(topics=trained_topics, device="cpu", precision="fp32")(TEXT).topic_scores
    plain = run_without_khabar(f"""
import json, torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline
folder = {str(trained_topics)!r}
model = AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=True).eval()
tokenizer = AutoTokenizer.from_pretrained(folder)
with torch.no_grad():
    probabilities = torch.sigmoid(model(**tokenizer({TEXT!r}, return_tensors="pt")).logits)[0].tolist()
scores = {{model.config.id2label[i]: p for i, p in enumerate(probabilities)}}
classify = pipeline("text-classification", model=folder, trust_remote_code=True, top_k=None)
rows = classify({TEXT!r})
rows = rows[0] if isinstance(rows[0], list) else rows
piped = {{row["label"]: row["score"] for row in rows}}
print(json.dumps({{"scores": scores, "piped": piped, "thresholds": model.config.thresholds}}))
""", tmp_path)
    assert plain["scores"] == pytest.approx(expected, abs=1e-5)
    assert plain["piped"] == pytest.approx(expected, abs=1e-5)
    assert plain["thresholds"] == metadata["thresholds"]


def test_ner_checkpoints_load_in_plain_transformers(tiny_ner_checkpoint, tmp_path):
    labels = json.loads((tiny_ner_checkpoint / "khabar.json").read_text(encoding="utf-8"))["labels"]
    plain = run_without_khabar(f"""
import json
from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline
folder = {str(tiny_ner_checkpoint)!r}
model = AutoModelForTokenClassification.from_pretrained(folder)
tagger = pipeline("token-classification", model=model, tokenizer=AutoTokenizer.from_pretrained(folder))
rows = tagger({TEXT!r})
print(json.dumps({{"labels": [model.config.id2label[i] for i in range(model.config.num_labels)],
                  "rows": len(rows), "valid": all(row["entity"] in model.config.label2id for row in rows)}}))
""", tmp_path)
    assert plain["labels"] == labels and plain["valid"]


def test_tokenizer_files_name_a_class_both_major_versions_know(tiny_ner_checkpoint, offline_backbone):
    from transformers import AutoTokenizer

    saved = json.loads((tiny_ner_checkpoint / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert saved["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert not {"local_files_only", "is_local", "backend"} & set(saved)
    reloaded, original = AutoTokenizer.from_pretrained(tiny_ner_checkpoint), AutoTokenizer.from_pretrained(
        offline_backbone)
    assert reloaded(TEXT)["input_ids"] == original(TEXT)["input_ids"]
    assert reloaded.cls_token == original.cls_token and reloaded.pad_token_id == original.pad_token_id


@pytest.mark.slow
def test_transformers_4_loads_the_tokenizer(tiny_ner_checkpoint, offline_backbone, tmp_path):
    """transformers 4.57 in a venv of its own (no torch needed for a tokenizer); set KHABAR_TRANSFORMERS4_PYTHON
    to its python, or the test builds one with pip (needs PyPI)."""
    python = os.environ.get("KHABAR_TRANSFORMERS4_PYTHON")
    if not python:
        venv = tmp_path / "tf4"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        installed = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "transformers==4.57.*"],
                                   capture_output=True, text=True, timeout=900)
        if installed.returncode != 0:
            pytest.skip(f"cannot install transformers 4.57: {installed.stderr[-300:]}")
        python = str(venv / "bin" / "python")
    from transformers import AutoTokenizer

    expected = AutoTokenizer.from_pretrained(offline_backbone)(TEXT)["input_ids"]
    code = (
        "import json, transformers\nfrom transformers import AutoTokenizer\n"
        f"t = AutoTokenizer.from_pretrained({str(tiny_ner_checkpoint)!r})\n"
        f"print(json.dumps({{'version': transformers.__version__, 'ids': t({TEXT!r})['input_ids'],"
        " 'cls': type(t).__name__}))"
    )
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["version"].startswith("4.") and result["ids"] == expected
