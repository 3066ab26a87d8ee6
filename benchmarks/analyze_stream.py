"""Corpus-scale `khabar analyze`: peak memory against stream length, and throughput with 1 and N processes.

Memory: short synthetic documents (sample sentences under distinct ids), 1,000 and 100,000 of them, each run in
a fresh `khabar analyze --output` process; the peak RSS of that process (ru_maxrss) should not grow with the
number of documents. Throughput: the same input analysed by 1 process and by `--processes` CPU processes under
`accelerate launch` (outputs compared byte for byte). Prints one JSON object.

    python benchmarks/analyze_stream.py --ner runs/ner-anercorp-offline/best --small 1000 --large 100000
    python benchmarks/analyze_stream.py --ner CKPT --throughput-input news-topics/test.jsonl --skip-memory
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SENTENCES = [
    "زار رئيس الوزراء الياباني فوميو كيشيدا واشنطن والتقى الرئيس جو بايدن في البيت الأبيض.",
    "أعلنت وزارة الخارجية المصرية أن الوزير سيتوجه إلى عمان لبحث الأوضاع في المنطقة.",
    "قال البنك المركزي الأوروبي إن التضخم في منطقة اليورو تراجع خلال الشهر الماضي.",
    "وصل وفد من الأمم المتحدة إلى بيروت لمتابعة تنفيذ الاتفاق.",
]


def write_synthetic(path: Path, count: int) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for index in range(count):
            text = SENTENCES[index % len(SENTENCES)]
            handle.write(json.dumps({"id": f"s{index}", "text": text}, ensure_ascii=False) + "\n")
    return path


def run_analyze(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall seconds and stderr of one command run to completion."""
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{completed.stderr[-3000:]}")
    return seconds, completed.stderr


def memory_rss(checkpoint: str, count: int, folder: Path, env: dict[str, str]) -> dict:
    """Peak RSS of a fresh process analysing `count` documents (run via a wrapper so RUSAGE_CHILDREN is its own)."""
    source = write_synthetic(folder / f"synthetic-{count}.jsonl", count)
    output = folder / f"out-{count}.jsonl"
    wrapper = (
        "import resource, subprocess, sys; "
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    command = [sys.executable, "-c", wrapper, sys.executable, "-m", "khabar.cli", "analyze", "--ner", checkpoint,
               str(source), "--output", str(output)]
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return {"documents": count, "seconds": round(time.perf_counter() - started, 1),
            "peak_rss_mb": round(int(completed.stdout.strip()) / 1024, 1),
            "output_lines": sum(1 for _ in open(output, encoding="utf-8"))}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def throughput(checkpoint: str, source: str, processes: int, folder: Path, env: dict[str, str]) -> dict:
    output = folder / f"throughput-{processes}.jsonl"
    analyze = ["-m", "khabar.cli", "analyze", "--ner", checkpoint, source, "--output", str(output)]
    if processes == 1:
        command = [sys.executable, *analyze]
    else:
        command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes",
                   str(processes), "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                   "--main_process_port", str(free_port()), *analyze]
    seconds, stderr = run_analyze(command, {**env, "ACCELERATE_USE_CPU": "true"})
    summary = json.loads([line for line in stderr.splitlines() if line.startswith('{"documents"')][-1])
    return {"processes": processes, "wall_seconds": round(seconds, 1), **summary, "output": str(output)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ner", required=True, help="NER checkpoint folder")
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--throughput-input", help="JSONL of documents for the 1-vs-N process comparison")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    from khabar.hardware import cpu_features

    result: dict = {
        "benchmark": "analyze_stream", "checkpoint": args.ner,
        "machine": {"cpus": os.cpu_count(), "cpu_features": cpu_features().describe(),
                    "python": platform.python_version()},
    }
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        if not args.skip_memory:
            small = memory_rss(args.ner, args.small, folder, env)
            large = memory_rss(args.ner, args.large, folder, env)
            result["memory"] = {"small": small, "large": large,
                                "large_over_small_peak_rss": round(large["peak_rss_mb"] / small["peak_rss_mb"], 3)}
        if args.throughput_input:
            one = throughput(args.ner, args.throughput_input, 1, folder, env)
            many = throughput(args.ner, args.throughput_input, args.processes, folder, env)
            identical = Path(one.pop("output")).read_bytes() == Path(many.pop("output")).read_bytes()
            result["throughput"] = {"one_process": one, f"{args.processes}_processes": many,
                                    "outputs_identical": identical}
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
