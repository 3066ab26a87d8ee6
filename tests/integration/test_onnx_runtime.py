"""`khabar export --onnx` and runtime="onnx": the exported graph serves the same windows, decoding and offsets.

The NER graphs come from the tiny config trained for real (the offline e5-small backbone), the topic graphs from
a random 2-layer BERT with a real config; every export is fp32 and int8. Skips without onnxruntime.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="the ONNX runtime tests need khabar[onnx] (onnxruntime)")

from khabar import Analyzer
from khabar.cli import main
from khabar.data import SAMPLE_NER, sample_path
from khabar.errors import CheckpointError, DeviceError, OutputError, UsageError
from khabar.export import export_onnx
from khabar.inference import TopicPredictor, load_checkpoint
from tests.integration.test_analyzer import assert_valid_document

REPO = Path(__file__).resolve().parents[2]


def _export_both(checkpoint: Path, folder: Path) -> dict[str, Path]:
    """The checkpoint exported in fp32 and in int8, by precision."""
    for precision in ("fp32", "int8"):
        export_onnx(checkpoint, folder / precision, int8=precision == "int8")
    return {precision: folder / precision for precision in ("fp32", "int8")}


@pytest.fixture(scope="module")
def ner_exports(tiny_ner_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _export_both(tiny_ner_checkpoint, tmp_path_factory.mktemp("onnx-ner"))


@pytest.fixture(scope="module")
def topic_exports(random_topics_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _export_both(random_topics_checkpoint, tmp_path_factory.mktemp("onnx-topics"))


def _record(folder: Path) -> dict:
    return json.loads((folder / "export.json").read_text(encoding="utf-8"))


def test_an_export_folder_holds_the_graph_the_tokenizer_the_metadata_and_its_check(ner_exports):
    for precision, folder in ner_exports.items():
        names = {path.name for path in folder.iterdir()}
        assert {"model.onnx", "khabar.json", "config.json", "tokenizer.json", "export.json"} <= names
        assert not any(name.endswith(".safetensors") for name in names)
        record = _record(folder)
        assert record["runtime"] == "onnx" and record["precision"] == precision
        assert record["validation"]["windows"] > 5 and record["validation"]["argmax_agreement"] > 0.9
    assert _record(ner_exports["fp32"])["validation"]["max_abs_logit_difference"] < 1e-3
    int8 = _record(ner_exports["int8"])["int8"]
    assert not int8["per_channel"] and int8["keep_fp32"] == ["ffn_down"] and int8["fp32_matmuls"] == 12
    assert _record(ner_exports["fp32"])["fused_operators"]["SkipLayerNormalization"] == 24
    assert not list(ner_exports["fp32"].parent.glob(".*")), "the staging folder is gone"


def test_onnx_fp32_gives_the_entities_torch_gives(tiny_ner_checkpoint, ner_exports, example_article):
    torch_analyzer = Analyzer.load(ner=tiny_ner_checkpoint, precision="fp32")
    onnx_analyzer = Analyzer.load(ner=ner_exports["fp32"], runtime="onnx")
    assert (onnx_analyzer.runtime, onnx_analyzer.precision) == ("onnx", "fp32")
    expected, found = torch_analyzer(example_article), onnx_analyzer(example_article)
    assert [(e.text, e.label, e.start, e.end, e.name) for e in found.entities] == [
        (e.text, e.label, e.start, e.end, e.name) for e in expected.entities
    ]
    assert np.allclose([e.score for e in found.entities], [e.score for e in expected.entities], atol=1e-4)
    assert_valid_document(found, example_article)


def test_onnx_int8_keeps_the_invariants_and_most_word_tags(tiny_ner_checkpoint, ner_exports, example_article):
    torch_analyzer = Analyzer.load(ner=tiny_ner_checkpoint, precision="fp32")
    int8 = Analyzer.load(ner=ner_exports["int8"], runtime="onnx", precision="int8")
    assert int8.precision == "int8"
    assert_valid_document(int8(example_article), example_article)
    expected = [word.label for word in torch_analyzer.word_labels(example_article)]
    found = [word.label for word in int8.word_labels(example_article)]
    assert len(found) == len(expected) and np.mean(np.array(found) == np.array(expected)) > 0.95


def test_topic_graphs_give_torch_probabilities(random_topics_checkpoint, topic_exports, example_article):
    texts = [example_article, "أعلنت وزارة الصحة عن حملة تطعيم جديدة.", "فاز الفريق بالبطولة."]
    reference = TopicPredictor.from_checkpoint(load_checkpoint(random_topics_checkpoint, "topics")).probabilities(texts)
    for precision, tolerance in (("fp32", 1e-4), ("int8", 0.05)):
        checkpoint = load_checkpoint(topic_exports[precision], "topics", runtime="onnx", precision="auto")
        found = TopicPredictor.from_checkpoint(checkpoint).probabilities(texts)
        assert np.abs(found - reference).max() < tolerance, precision
    analyzer = Analyzer.load(topics=topic_exports["fp32"], runtime="onnx")
    assert analyzer(example_article).topics


def test_cli_export_evaluate_and_analyze_with_the_onnx_runtime(tiny_ner_checkpoint, ner_exports, tmp_path, capsys):
    scores = {}
    for runtime, model in (("torch", tiny_ner_checkpoint), ("onnx", ner_exports["fp32"])):
        output = tmp_path / f"{runtime}.json"
        assert main(["evaluate", "--model", str(model), "--data", str(sample_path(SAMPLE_NER)), "--runtime", runtime,
                     "--output", str(output)]) == 0
        report = json.loads(output.read_text(encoding="utf-8"))
        assert report["settings"]["runtime"] == runtime and report["settings"]["precision"] == "fp32"
        scores[runtime] = report["results"]["default"]["micro"]["f1"]
    assert scores["onnx"] == pytest.approx(scores["torch"], abs=1e-9)
    article = tmp_path / "article.txt"
    article.write_text("زار رئيس الوزراء الياباني فوميو كيشيدا واشنطن والصين.", encoding="utf-8")
    capsys.readouterr()
    assert main(["analyze", "--ner", str(ner_exports["int8"]), "--runtime", "onnx", str(article)]) == 0
    assert "entities" in json.loads(capsys.readouterr().out.splitlines()[0])


def test_cli_export_writes_a_folder_and_refuses_to_overwrite(random_topics_checkpoint, tmp_path, capsys):
    out = tmp_path / "topics-onnx"
    assert main(["export", str(random_topics_checkpoint), "--onnx", str(out)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["precision"] == "fp32"
    assert re.search(r"exported fp32 ONNX graph to .*max \|logit difference\| against PyTorch", captured.err)
    before = sorted(path.name for path in out.iterdir())
    assert main(["export", str(random_topics_checkpoint), "--onnx", str(out), "--int8"]) == 2
    assert "already exists and is not an empty folder; khabar export never overwrites" in capsys.readouterr().err
    assert sorted(path.name for path in out.iterdir()) == before and _record(out)["precision"] == "fp32"


def test_wrong_runtime_precision_or_device_is_one_clear_error(tiny_ner_checkpoint, ner_exports):
    with pytest.raises(CheckpointError, match=r"has no model\.onnx: runtime='onnx' loads a folder written by"):
        Analyzer.load(ner=tiny_ner_checkpoint, runtime="onnx")
    with pytest.raises(CheckpointError, match="holds an ONNX export, not PyTorch weights: load it with runtime='onnx'"):
        Analyzer.load(ner=ner_exports["fp32"])
    with pytest.raises(UsageError, match="was exported in int8; precision 'fp32' needs another export"):
        Analyzer.load(ner=ner_exports["int8"], runtime="onnx", precision="fp32")
    with pytest.raises(DeviceError, match="runtime='onnx' runs on the CPU"):
        Analyzer.load(ner=ner_exports["fp32"], runtime="onnx", device="cuda")
    with pytest.raises(UsageError, match="runtime must be one of torch, onnx"):
        Analyzer.load(ner=ner_exports["fp32"], runtime="tensorrt")


def test_a_damaged_graph_or_export_record_is_a_checkpoint_error(ner_exports, tmp_path):
    import shutil

    damaged = tmp_path / "damaged"
    shutil.copytree(ner_exports["fp32"], damaged, ignore=shutil.ignore_patterns("model.onnx"))
    (damaged / "model.onnx").write_bytes(b"not a graph")
    with pytest.raises(CheckpointError, match="ONNX Runtime cannot load this graph"):
        Analyzer.load(ner=damaged, runtime="onnx")
    (damaged / "export.json").write_text("{}", encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"export\.json: not a khabar export record"):
        Analyzer.load(ner=damaged, runtime="onnx")


def test_without_onnxruntime_the_runtime_is_one_error_naming_the_extra(ner_exports, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # what an install without the extra sees
    with pytest.raises(UsageError, match=r"needs the onnxruntime package: pip install 'khabar\[onnx\]'"):
        Analyzer.load(ner=ner_exports["fp32"], runtime="onnx")


def test_an_interrupted_export_leaves_nothing_behind(random_topics_checkpoint, tmp_path, monkeypatch):
    import khabar.export

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(khabar.export, "compare_with_torch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export_onnx(random_topics_checkpoint, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(OutputError, match="does not exist; create it first"):
        export_onnx(random_topics_checkpoint, tmp_path / "missing" / "out")


def test_the_readme_example_runs_with_onnxruntime_and_tokenizers_alone(ner_exports):
    """The README's "Running without PyTorch" code, run with torch and transformers made unimportable."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Running without PyTorch", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    guard = "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in ("torch", "transformers", "khabar"))
    code = guard + code.replace("runs/ner-anercorp-onnx", str(ner_exports["fp32"]))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    pairs = json.loads(result.stdout.strip().splitlines()[-1])
    assert [word for word, _ in pairs][:3] == ["زار", "رئيس", "الوزراء"]
    assert all(label == "O" or label[:2] in ("B-", "I-") for _, label in pairs)


def test_two_cpu_processes_analyse_with_the_onnx_runtime_as_one_does(random_ner_checkpoint, tmp_path):
    """`khabar analyze --runtime onnx` under `accelerate launch` (gloo, 2 CPU processes): one session per process,
    each with the threads PyTorch would use (OMP_NUM_THREADS=1 here), and the merged output of one process.
    A small random model keeps the 2 x 150 documents quick."""
    from tests.integration.launch import accelerate_launch
    from tests.integration.test_analyze_corpus import sample_records, write_jsonl

    export_onnx(random_ner_checkpoint, tmp_path / "int8", int8=True)
    path = write_jsonl(tmp_path / "in.jsonl", sample_records(150))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "ACCELERATE_USE_CPU": "true"}
    command = ["analyze", "--ner", str(tmp_path / "int8"), "--runtime", "onnx", str(path), "--output"]
    single, double = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    one = subprocess.run([sys.executable, "-m", "khabar.cli", *command, str(single)],
                         capture_output=True, text=True, env=env, timeout=600, check=False)
    assert one.returncode == 0, one.stderr[-3000:]
    two = subprocess.run([*accelerate_launch(2), *command, str(double)],
                         capture_output=True, text=True, env=env, timeout=600, check=False)
    assert two.returncode == 0, two.stderr[-3000:]
    assert double.read_bytes() == single.read_bytes()
    (summary,) = [json.loads(line) for line in two.stderr.splitlines() if line.startswith('{"documents"')]
    assert summary["documents"] == 150 and min(summary["per_process"]) > 0
