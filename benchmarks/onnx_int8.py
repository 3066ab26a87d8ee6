"""Which int8 quantisation of the ONNX graph holds F1: the choices of `khabar.export.Int8Choice`, scored on dev.

Exports the checkpoint once in fp32, quantises that graph in each way, and scores every variant with
`khabar evaluate --runtime onnx` on a dev set: by default the last 10% of ANERcorp train, carved as the NER
configs carve dev (`dev_selection: tail`). The reference checkpoint trained on all of train, so dev F1 here
is optimistic in absolute terms; what it measures is how much each quantisation loses against fp32 on
sentences that are not the test set. The default `Int8Choice` is the one this script found best.

    HF_HUB_OFFLINE=1 KHABAR_DATA_DIR=../shared/data python benchmarks/onnx_int8.py \
        --checkpoint runs/ner-anercorp-offline-fp32 --output benchmarks/results/onnx_int8.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from khabar.data import read_conll, write_conll
from khabar.data.hf import split_dev
from khabar.evaluation import evaluate
from khabar.export import Int8Choice, export_onnx, quantize_graph
from khabar.hardware import cpu_features
from khabar.inference.onnx_model import EXPORT_FILE, ONNX_FILE

CHOICES = {
    "per-tensor, every weight matmul": Int8Choice(per_channel=False, keep_fp32=()),
    "per-channel, every weight matmul": Int8Choice(per_channel=True, keep_fp32=()),
    "per-channel, down-projections fp32": Int8Choice(per_channel=True, keep_fp32=("ffn_down",)),
    "per-tensor, down-projections fp32": Int8Choice(per_channel=False, keep_fp32=("ffn_down",)),
    "per-channel, down-projections and classifier fp32": Int8Choice(per_channel=True,
                                                                   keep_fp32=("ffn_down", "classifier")),
}


def dev_file(folder: Path) -> Path:
    data_dir = Path(os.environ.get("KHABAR_DATA_DIR", "../shared/data"))
    sentences = read_conll(data_dir / "anercorp" / "train.txt")
    _, dev = split_dev(sentences, fraction=0.1, seed=0, method="tail")
    path = folder / "anercorp-train-tail10.conll"
    write_conll(dev, path)
    return path


def variant(fp32_folder: Path, target: Path, choice: Int8Choice) -> dict:
    """A copy of the fp32 export whose graph is quantised as `choice` says."""
    shutil.copytree(fp32_folder, target, ignore=shutil.ignore_patterns(ONNX_FILE))
    details = quantize_graph(fp32_folder / ONNX_FILE, target / ONNX_FILE, choice)
    record = json.loads((fp32_folder / EXPORT_FILE).read_text(encoding="utf-8"))
    record.update(precision="int8", int8=details)
    (target / EXPORT_FILE).write_text(json.dumps(record, indent=1), encoding="utf-8")
    return details


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--dev", type=Path, help="CoNLL dev file (default: the last 10%% of ANERcorp train)")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    results: dict = {"cpu_features": cpu_features().describe(), "variants": {}}
    with tempfile.TemporaryDirectory(prefix="khabar-int8-") as scratch:
        scratch_path = Path(scratch)
        dev = args.dev or dev_file(scratch_path)
        results["dev"] = str(dev if args.dev else "last 10% of ANERcorp train (tail)")
        fp32 = scratch_path / "fp32"
        export_onnx(args.checkpoint, fp32)
        folders = {"fp32": (fp32, None)}
        for index, (name, choice) in enumerate(CHOICES.items()):
            target = scratch_path / f"int8-{index}"
            folders[name] = (target, variant(fp32, target, choice))
        for name, (folder, details) in folders.items():
            started = time.perf_counter()
            report = evaluate(folder, dev, runtime="onnx", format="conll")
            f1 = report.results["default"]["micro"]["f1"]
            results["variants"][name] = {"dev_f1": round(f1, 4), "int8": details,
                                         "seconds": round(time.perf_counter() - started, 1)}
            print(f"{name:<52} dev F1 {f1:.4f}  ({time.perf_counter() - started:.0f} s)", flush=True)
    if args.output:
        args.output.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
