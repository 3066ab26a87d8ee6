"""Analyzer speed, memory and int8 accuracy against the Hugging Face token-classification pipeline.

Both run on the same NER checkpoint and the same documents (the news-topics test articles, title + text)
in one process, each after a warm-up: khabar's `Analyzer.analyze_many` (its default, fp32, bf16, int8, fp32
with the other window context, and ONNX Runtime on fp32 and int8 exports of the checkpoint, made once with
`khabar.export` before timing) and `pipeline("token-classification", aggregation_strategy="first", stride=S)`
(fp32, and with bf16 weights). Tokens are counted
at the model's forward (non-padding input tokens, special tokens included), so both sides are counted
alike. Peak RSS is measured in a fresh subprocess per configuration (torch allocates outside tracemalloc's
view). The entity sets are compared as (label, start, end) with whitespace trimmed, and every difference is
put in a category that names its cause. ANERcorp test F1 of each khabar variant (`--f1-variants`) comes from
khabar's evaluation path.

    python benchmarks/analyze_speed.py                       # full run, one JSON object on stdout
    python benchmarks/analyze_speed.py --limit 10 --f1-limit 100   # quick check
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

__all__ = ["main"]

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("KHABAR_DATA_DIR", REPO.parent / "shared" / "data"))
# khabar serves the window context recorded in the checkpoint; "other_context" is the other one (sentences
# packed into windows for a sentence-context checkpoint, one sentence per window for a packed one).
# khabar_default is `Analyzer.load()` with no options (precision "auto": bf16 on CPUs with AMX, fp32 elsewhere).
CONFIGS = (
    "khabar_default", "khabar_fp32", "khabar_bf16", "khabar_int8", "khabar_fp32_other_context", "onnx_fp32",
    "onnx_int8", "pipeline_fp32", "pipeline_bf16",
)
KHABAR_CONFIGS = tuple(name for name in CONFIGS if not name.startswith("pipeline"))
F1_VARIANTS = ("fp32", "bf16", "int8", "onnx_fp32", "onnx_int8")
WARMUP_DOCUMENTS = 8
EXAMPLES_PER_CATEGORY = 3

Key = tuple[str, int, int]  # (label, start, end)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ner", default=str(REPO / "runs" / "ner-anercorp-offline" / "best"))
    parser.add_argument("--data", default=str(DATA_DIR / "news-topics" / "test.jsonl"))
    parser.add_argument("--anercorp-test", default=str(DATA_DIR / "anercorp" / "test.txt"))
    parser.add_argument("--limit", type=int, help="analyse only the first N documents")
    parser.add_argument("--f1-limit", type=int, help="score only the first N ANERcorp test sentences")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per configuration (best is reported)")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--note", default="", help="free text recorded in the output (machine load, nice level)")
    parser.add_argument("--skip-memory", action="store_true", help="no subprocess peak-RSS measurements")
    parser.add_argument("--skip-f1", action="store_true", help="no ANERcorp F1")
    parser.add_argument("--f1-variants", default=",".join(F1_VARIANTS),
                        help=f"comma-separated ANERcorp F1 variants (default: {','.join(F1_VARIANTS)})")
    parser.add_argument("--onnx-dir", default=str(REPO / "runs" / "onnx-exports"),
                        help="where the ONNX exports of --ner are made (once) and reused")
    parser.add_argument("--memory-of", choices=CONFIGS, help=argparse.SUPPRESS)  # subprocess mode
    return parser.parse_args(argv)


def load_documents(path: str, limit: int | None) -> list[str]:
    from khabar.data import read_topics

    documents = [document.full_text for document in read_topics(path)]
    return documents[:limit] if limit else documents


@dataclass
class TokenCount:
    """What a model's forward passes saw: calls, rows (windows), real tokens, tokens including padding."""

    calls: int = 0
    rows: int = 0
    tokens: int = 0
    padded_tokens: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"forward_calls": self.calls, "windows": self.rows, "tokens": self.tokens,
                "padded_tokens": self.padded_tokens}


@contextlib.contextmanager
def counting_tokens(model: torch.nn.Module) -> Iterator[TokenCount]:
    count = TokenCount()

    def hook(_module: torch.nn.Module, _args: tuple, kwargs: dict[str, Any]) -> None:
        mask = kwargs["attention_mask"]
        count.calls += 1
        count.rows += mask.shape[0]
        count.tokens += int(mask.sum())
        count.padded_tokens += mask.numel()

    handle = model.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        yield count
    finally:
        handle.remove()


@dataclass
class Runner:
    """One configuration: its model (for counting tokens) and a function from documents to entity lists."""

    name: str
    model: torch.nn.Module
    analyse: Callable[[Sequence[str]], list[list[dict[str, Any]]]]
    info: dict[str, Any] = field(default_factory=dict)


def onnx_export(args: argparse.Namespace, precision: str) -> str:
    """The fp32 or int8 ONNX export of --ner, made once under --onnx-dir (export time is not timed)."""
    from khabar.checkpoint import resolve_checkpoint_folder
    from khabar.export import export_onnx

    source = resolve_checkpoint_folder(args.ner)
    folder = Path(args.onnx_dir) / f"{source.parent.name}-{source.name}-{precision}"
    if not (folder / "export.json").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        export_onnx(source, folder, int8=precision == "int8")
    return str(folder)


def khabar_runner(
    name: str, checkpoint: str, batch_size: int, *, precision: str, other_context: bool, runtime: str = "torch"
) -> Runner:
    from khabar import Analyzer

    analyzer = Analyzer.load(ner=checkpoint, precision=precision, batch_size=batch_size, runtime=runtime)
    if other_context:
        analyzer.pack_sentences = not analyzer.pack_sentences

    def analyse(documents: Sequence[str]) -> list[list[dict[str, Any]]]:
        return [[e.to_dict() for e in d.entities] for d in analyzer.analyze_many(documents, batch_size=batch_size)]

    info = {"max_length": analyzer.ner.metadata.max_length, "stride": analyzer.ner.metadata.stride,
            "context": "packed" if analyzer.pack_sentences else "sentence", "precision": analyzer.precision,
            "runtime": analyzer.runtime}
    return Runner(name, analyzer.ner.model, analyse, info)


def pipeline_runner(checkpoint: str, batch_size: int, *, bf16: bool) -> Runner:
    """The peer: the pipeline chunks each whole document into max_length windows overlapping by `stride`.

    Its bf16 variant loads the weights in bfloat16, the way a pipeline user asks for half precision.
    """
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

    from khabar.checkpoint import read_metadata

    metadata = read_metadata(checkpoint, task="ner")
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    tokenizer.model_max_length = metadata.max_length
    dtype = torch.bfloat16 if bf16 else torch.float32
    model = AutoModelForTokenClassification.from_pretrained(checkpoint, use_safetensors=True, dtype=dtype).eval()
    tagger = pipeline(
        "token-classification", model=model, tokenizer=tokenizer, aggregation_strategy="first",
        stride=metadata.stride, device=-1,
    )

    def analyse(documents: Sequence[str]) -> list[list[dict[str, Any]]]:
        outputs = tagger(list(documents), batch_size=batch_size)
        return [
            [{"text": e["word"], "label": e["entity_group"], "start": e["start"], "end": e["end"],
              "score": float(e["score"])} for e in entities]
            for entities in outputs
        ]

    name = "pipeline_bf16" if bf16 else "pipeline_fp32"
    return Runner(name, model, analyse, {"max_length": metadata.max_length, "stride": metadata.stride})


def build_runner(name: str, args: argparse.Namespace) -> Runner:
    if name.startswith("pipeline"):
        return pipeline_runner(args.ner, args.batch_size, bf16=name == "pipeline_bf16")
    if name.startswith("onnx"):
        precision = name.removeprefix("onnx_")
        return khabar_runner(name, onnx_export(args, precision), args.batch_size, precision=precision,
                             other_context=False, runtime="onnx")
    precision = {"khabar_int8": "int8", "khabar_bf16": "bf16", "khabar_default": "auto"}.get(name, "fp32")
    return khabar_runner(
        name, args.ner, args.batch_size, precision=precision, other_context=name == "khabar_fp32_other_context"
    )


def measure_speed(
    runners: Sequence[Runner], documents: Sequence[str], repeats: int
) -> tuple[dict[str, Any], dict[str, list[list[dict[str, Any]]]]]:
    """Warm up every configuration, then time `repeats` passes over all documents, configurations in turn.

    Interleaving spreads any background load over all configurations alike; the fastest pass is the
    headline (the least disturbed one) and every pass is reported.
    """
    for runner in runners:
        runner.analyse(documents[:WARMUP_DOCUMENTS])
    passes: dict[str, list[float]] = {runner.name: [] for runner in runners}
    counts: dict[str, TokenCount] = {}
    entities: dict[str, list[list[dict[str, Any]]]] = {}
    for _ in range(repeats):
        for runner in runners:
            with counting_tokens(runner.model) as count:
                start = time.perf_counter()
                entities[runner.name] = runner.analyse(documents)
                passes[runner.name].append(time.perf_counter() - start)
            counts[runner.name] = count
            print(f"{runner.name}: {passes[runner.name][-1]:.2f} s", file=sys.stderr)
    speed = {}
    for name, seconds in passes.items():
        best = min(seconds)
        speed[name] = {
            "seconds": round(best, 3),
            "all_passes_seconds": [round(value, 3) for value in seconds],
            "documents_per_s": round(len(documents) / best, 3),
            "tokens_per_s": round(counts[name].tokens / best, 1),
            "entities": sum(len(found) for found in entities[name]),
            **counts[name].to_dict(),
        }
    return speed, entities


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _keys(text: str, entities: list[dict[str, Any]]) -> set[Key]:
    return {(e["label"], *_trim(text, e["start"], e["end"])) for e in entities}


def _punctuation_attached(text: str, start: int, end: int) -> bool:
    """Whether the whitespace-delimited chunk around [start, end) mixes a word with punctuation (`"اسم`, `#a_b`)."""
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    chunk = text[start:end]
    return any(unicodedata.category(char)[0] in "PS" for char in chunk) and any(char.isalpha() for char in chunk)


def _cause(key: Key, text: str, other: set[Key], bounds: tuple[set[int], set[int]], sentences: list[int]) -> str:
    """Why an entity is found by one side only: the first matching systematic cause."""
    from khabar.text.normalize import ARABIC_MARKS, TATWEEL

    _, start, end = key
    if start == end:
        return "whitespace only (the pipeline tags a bare '▁' piece as an entity)"
    if any((o_start, o_end) == (start, end) for _, o_start, o_end in other):
        return "same span, other label"
    if bisect.bisect_right(sentences, start) != bisect.bisect_left(sentences, end):
        return "crosses a sentence boundary (the pipeline reads the document as one sequence)"
    if start not in bounds[0] or end not in bounds[1]:
        return "not on khabar word boundaries"
    if _punctuation_attached(text, start, end):
        return "punctuation attached to a word (khabar splits it off, as ANERcorp does)"
    if any(o_start < end and start < o_end for _, o_start, o_end in other):
        return "overlaps an entity of the other side with other boundaries or label"
    if any(char in ARABIC_MARKS or char == TATWEEL for char in text[start:end]):
        return "contains diacritics/tatweel (khabar normalises them away, the pipeline does not)"
    return "found by one side only (different context: sentence windows vs document chunks)"


def compare_entities(
    documents: Sequence[str], ours: list[list[dict[str, Any]]], theirs: list[list[dict[str, Any]]]
) -> dict[str, Any]:
    from khabar.text import split_sentences, split_words

    identical = 0
    causes: dict[str, dict[str, Any]] = {}
    for index, (text, a, b) in enumerate(zip(documents, ours, theirs, strict=True)):
        ours_keys, theirs_keys = _keys(text, a), _keys(text, b)
        identical += len(ours_keys & theirs_keys)
        words = split_words(text)
        bounds = ({w.start for w in words}, {w.end for w in words})
        sentence_starts = [s.start for s in split_sentences(text)][1:]
        for side, mine, other in (("only_khabar", ours_keys, theirs_keys), ("only_pipeline", theirs_keys, ours_keys)):
            for key in sorted(mine - other, key=lambda k: k[1]):
                cause = _cause(key, text, other, bounds, sentence_starts)
                entry = causes.setdefault(cause, {"only_khabar": 0, "only_pipeline": 0, "examples": []})
                entry[side] += 1
                if len(entry["examples"]) < EXAMPLES_PER_CATEGORY:
                    entry["examples"].append(
                        {"side": side, "document": index, "label": key[0], "text": text[key[1] : key[2]]}
                    )
    only_khabar = sum(c["only_khabar"] for c in causes.values())
    only_pipeline = sum(c["only_pipeline"] for c in causes.values())
    return {"identical": identical, "only_khabar": only_khabar, "only_pipeline": only_pipeline, "causes": causes}


def agreement(
    documents: Sequence[str], first: list[list[dict[str, Any]]], second: list[list[dict[str, Any]]]
) -> dict[str, int]:
    """Entities two khabar configurations agree on, and those only one of them finds."""
    counts = {"identical": 0, "only_first": 0, "only_second": 0}
    for text, a, b in zip(documents, first, second, strict=True):
        keys_a, keys_b = _keys(text, a), _keys(text, b)
        counts["identical"] += len(keys_a & keys_b)
        counts["only_first"] += len(keys_a - keys_b)
        counts["only_second"] += len(keys_b - keys_a)
    return counts


def anercorp_f1(checkpoint: str, test_path: str, batch_size: int, limit: int | None, *, precision: str,
                runtime: str = "torch") -> dict:
    """Entity F1 (seqeval default mode) on ANERcorp test sentences, the way training scores its test split."""
    from khabar.data import read_conll
    from khabar.evaluation import score_entities
    from khabar.inference import NerPredictor, load_checkpoint

    loaded = load_checkpoint(checkpoint, "ner", device="cpu", precision=precision, runtime=runtime)
    sentences = read_conll(test_path)[:limit] if limit else read_conll(test_path)
    start = time.perf_counter()
    predictor = NerPredictor.from_checkpoint(loaded, batch_size=batch_size)
    predicted = predictor.predict_sentences([s.words for s in sentences])
    seconds = time.perf_counter() - start
    scores = score_entities([list(s.tags) for s in sentences], [result.tags for result in predicted])
    return {"f1": round(scores.micro.f1, 4), "precision": round(scores.micro.precision, 4),
            "recall": round(scores.micro.recall, 4), "sentences": len(sentences), "seconds": round(seconds, 2)}


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (Linux), in MiB.

    VmHWM is the peak RSS of this process image; getrusage's ru_maxrss is not usable here because Linux
    carries the parent's peak across fork and exec, so every subprocess would report the parent's peak.
    """
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def memory_of(args: argparse.Namespace) -> dict[str, Any]:
    """In a fresh process: load one configuration and analyse every document once; report RSS."""
    documents = load_documents(args.data, args.limit)
    runner = build_runner(args.memory_of, args)
    after_load = _status_mb("VmRSS")
    runner.analyse(documents)
    return {"rss_after_load_mb": after_load, "peak_rss_mb": _status_mb("VmHWM")}


def measure_memory(name: str, argv: Sequence[str]) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), *argv, "--memory-of", name]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return {"error": result.stderr.strip().splitlines()[-1:]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def _ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else float("nan")


def run(args: argparse.Namespace, argv: Sequence[str]) -> dict[str, Any]:
    import transformers

    documents = load_documents(args.data, args.limit)
    runners = [build_runner(name, args) for name in CONFIGS]
    info = runners[0].info
    contexts = {runner.name: runner.info["context"] for runner in runners if runner.name in KHABAR_CONFIGS}
    speed, entities = measure_speed(runners, documents, args.repeats)
    del runners
    pipeline = speed["pipeline_fp32"]
    pipeline_bf16 = speed["pipeline_bf16"]
    from khabar.hardware import cpu_features

    result: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "note": args.note,
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
                    "transformers": transformers.__version__, "python": platform.python_version(),
                    "cpu_features": cpu_features().describe()},
        "checkpoint": args.ner,
        "documents": len(documents),
        "characters": sum(map(len, documents)),
        "batch_size": args.batch_size,
        **info,
        "contexts": contexts,
        "speed": speed,
        "ratios_vs_pipeline_fp32_documents_per_s": {
            name: _ratio(speed[name]["documents_per_s"], pipeline["documents_per_s"]) for name in KHABAR_CONFIGS
        },
        "khabar_bf16_vs_pipeline_bf16_documents_per_s": _ratio(speed["khabar_bf16"]["documents_per_s"],
                                                                pipeline_bf16["documents_per_s"]),
        "bf16_vs_fp32_documents_per_s": _ratio(speed["khabar_bf16"]["documents_per_s"],
                                               speed["khabar_fp32"]["documents_per_s"]),
        "int8_vs_fp32_documents_per_s": _ratio(speed["khabar_int8"]["documents_per_s"],
                                               speed["khabar_fp32"]["documents_per_s"]),
        "onnx_fp32_vs_khabar_fp32_documents_per_s": _ratio(speed["onnx_fp32"]["documents_per_s"],
                                                           speed["khabar_fp32"]["documents_per_s"]),
        "onnx_int8_vs_khabar_fp32_documents_per_s": _ratio(speed["onnx_int8"]["documents_per_s"],
                                                           speed["khabar_fp32"]["documents_per_s"]),
        "entities_onnx_fp32_vs_khabar_fp32": agreement(documents, entities["onnx_fp32"], entities["khabar_fp32"]),
        "entities_onnx_int8_vs_khabar_fp32": agreement(documents, entities["onnx_int8"], entities["khabar_fp32"]),
        "entities_khabar_fp32_vs_pipeline": compare_entities(documents, entities["khabar_fp32"],
                                                             entities["pipeline_fp32"]),
        "entities_khabar_bf16_vs_fp32": agreement(documents, entities["khabar_bf16"], entities["khabar_fp32"]),
        "entities_pipeline_bf16_vs_fp32": agreement(documents, entities["pipeline_bf16"], entities["pipeline_fp32"]),
        "entities_khabar_int8_vs_fp32": agreement(documents, entities["khabar_int8"], entities["khabar_fp32"]),
        "entities_khabar_other_context_vs_fp32": agreement(documents, entities["khabar_fp32_other_context"],
                                                           entities["khabar_fp32"]),
    }
    if not args.skip_memory:
        result["memory"] = {name: measure_memory(name, argv) for name in CONFIGS}
    if not args.skip_f1:
        f1 = {}
        for name in args.f1_variants.split(","):
            if name.startswith("onnx_"):
                precision = name.removeprefix("onnx_")
                f1[name] = anercorp_f1(onnx_export(args, precision), args.anercorp_test, args.batch_size,
                                       args.f1_limit, precision=precision, runtime="onnx")
            else:
                f1[name] = anercorp_f1(args.ner, args.anercorp_test, args.batch_size, args.f1_limit, precision=name)
        for name in list(f1):
            if name != "fp32" and "fp32" in f1:
                f1[f"{name}_minus_fp32"] = round(f1[name]["f1"] - f1["fp32"]["f1"], 4)
        reference = Path(args.ner).parent / "test_metrics.json"
        if reference.is_file():
            f1["training_run_test_f1"] = json.loads(reference.read_text(encoding="utf-8")).get("f1")
        result["anercorp_test"] = f1
    return result


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_of:
        print(json.dumps(memory_of(args)))
        return 0
    print(json.dumps(run(args, argv), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
