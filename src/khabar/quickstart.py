"""`khabar quickstart` (and `make quickstart`): the main job end to end on the offline default, for a new user's
first run.

Prepares the offline backbone, fine-tunes an NER and a topic model (on the bundled sample, or with
`--data full` on ANERcorp and news-topics from KHABAR_DATA_DIR), analyses the bundled example article and
prints its entities and topics. A second run reuses models whose resolved config has not changed. The configs are
the packaged ones, by name, so this runs the same from an installed wheel as from a checkout.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch
import yaml

from khabar.backbones import prepare
from khabar.data import SAMPLE_ARTICLE, sample_path
from khabar.data.io import atomic_write_text
from khabar.errors import ConfigError
from khabar.training import ExperimentConfig, load_config, train
from khabar.training.precision import resolved_label

__all__ = ["PLANS", "main", "run", "train_or_reuse"]

# --data choice -> (NER config, topics config, first-run duration); configs are packaged names.
PLANS = {
    "sample": ("ner/quickstart", "topics/quickstart", "about 5 minutes"),
    "full": ("ner/anercorp-offline", "topics/news-topics-offline", "about 1.5 hours"),
}


def _step(message: str) -> None:
    print(f"\n==> {message}", flush=True)


def train_or_reuse(config: ExperimentConfig) -> Path:
    """Train unless the run folder already holds a best checkpoint trained from this very config."""
    run = Path(config.output_dir)
    saved = run / "config.yaml"
    # config.yaml records the precision the run used (auto resolved on this machine): compare like with like.
    expected = config.to_dict()
    expected["training"]["mixed_precision"] = resolved_label(config.training.mixed_precision, torch.device("cpu"))
    unchanged = saved.is_file() and yaml.safe_load(saved.read_text(encoding="utf-8")) == yaml.safe_load(
        yaml.safe_dump(expected)
    )
    if unchanged and (run / "best" / "khabar.json").is_file():
        print(f"reusing {run}/best (delete {run} to train again)")
        return run / "best"
    started = time.perf_counter()
    result = train(config)
    print(f"trained {config.task} in {time.perf_counter() - started:.0f} s; best dev score {result.best_score:.3f}")
    return result.best_dir


def run(data: str, runs_dir: Path) -> Path:
    from khabar.corpus import format_table
    from khabar.inference import Analyzer

    ner_config, topics_config, duration = PLANS[data]
    if data == "full" and not os.environ.get("KHABAR_DATA_DIR"):
        raise ConfigError("DATA=full needs KHABAR_DATA_DIR pointing at the shared corpora (anercorp/, news-topics/)")
    print(f"khabar quickstart ({data} data): {duration} on 2 CPU cores for the first run; later runs reuse models.")
    _step("1/4 preparing the offline backbone (converted once into the cache)")
    print(prepare("offline/multilingual-e5-small"))
    checkpoints = {}
    for number, (task, path) in enumerate((("ner", ner_config), ("topics", topics_config)), start=2):
        _step(f"{number}/4 fine-tuning the {task} model ({path})")
        config = load_config(path, output_dir=str(runs_dir / f"quickstart-{data}-{task}"))
        checkpoints[task] = train_or_reuse(config)
    _step("4/4 analysing the bundled example article")
    article = sample_path(SAMPLE_ARTICLE).read_text(encoding="utf-8")
    analyzer = Analyzer.load(ner=checkpoints["ner"], topics=checkpoints["topics"])
    document = analyzer(article)
    print(format_table(SAMPLE_ARTICLE, document, entities=True, topics=True))
    output = runs_dir / f"quickstart-{data}-article.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output, [json.dumps({"id": SAMPLE_ARTICLE, **document.to_dict()}, ensure_ascii=False, indent=2)])
    print(f"\nJSON result: {output}")
    return output


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m khabar.quickstart [--data ...]`: the same as `khabar quickstart`, through its parser and errors."""
    from khabar.cli import main as khabar_main

    return khabar_main(["quickstart", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
