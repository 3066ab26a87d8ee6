"""Evaluate the reference runs on their held-out sets and regenerate their model cards from those reports.

    python benchmarks/make_reference_cards.py                 # every reference run that exists under runs/
    python benchmarks/make_reference_cards.py --only ner-anercorp-offline
    python benchmarks/make_reference_cards.py --run ner-anercorp-offline=runs/my-rerun

Reports go to model_cards/reports/<card>/<evaluation>.json, cards to model_cards/<card>.md; a run without a
best/ checkpoint is skipped (and said so). Data comes from ${KHABAR_DATA_DIR} (default ../shared/data). The
last line printed is a JSON summary of the headline figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khabar.cards import build_model_card, render_model_card, report_results, write_card_text
from khabar.evaluation import evaluate, format_report, write_report

__all__ = ["REFERENCES", "Evaluation", "Reference", "main"]

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Evaluation:
    """One held-out file to score a reference run on (path relative to the data folder)."""

    name: str
    data: str
    label_map: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reference:
    """A reference run and the evaluations on its card."""

    card: str
    run: str
    evaluations: tuple[Evaluation, ...]


REFERENCES = (
    Reference("ner-anercorp-offline", "runs/ner-anercorp-offline", (
        Evaluation("anercorp-test", "anercorp/test.txt"),
        # Out of domain (Wikipedia): AQMAR names its types PER/LOC/ORG/MIS.
        Evaluation("aqmar-test", "aqmar/test.txt", {"MIS": "MISC", "PER": "PERS"}),
    )),
    Reference("topics-news-offline", "runs/topics-news-offline", (
        Evaluation("news-topics-test", "news-topics/test.jsonl"),
    )),
    Reference("topics-asnd-offline", "runs/topics-asnd-offline", (
        Evaluation("asnd-test", "asnd/test.csv"),
    )),
)


def _data_dir() -> Path:
    return Path(os.environ.get("KHABAR_DATA_DIR", REPO.parent / "shared" / "data"))


def make_card(reference: Reference, run: Path, data_dir: Path, output: Path, batch_size: int) -> dict[str, Any]:
    """Evaluate `run` on each of the reference's files, then write its card from those reports."""
    report_paths = []
    figures: dict[str, Any] = {}
    for item in reference.evaluations:
        report = evaluate(run, data_dir / item.data, label_map=item.label_map, batch_size=batch_size)
        print(format_report(report), end="\n\n", file=sys.stderr)
        path = write_report(report, output / "reports" / reference.card / f"{item.name}.json")
        report_paths.append(path)
        figures[item.name] = {result.name: round(result.value, 4) for result in report_results(report)}
    card = build_model_card(run, report_paths, model_name=reference.card)
    card_path = write_card_text(render_model_card(card), output / f"{reference.card}.md")
    return {"card": str(card_path), "reports": [str(p) for p in report_paths], "figures": figures}


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", help="card name(s) to regenerate (default: all present)")
    parser.add_argument("--run", action="append", default=[], metavar="CARD=DIR", help="use another run folder")
    parser.add_argument("--output", type=Path, default=Path(os.path.relpath(REPO / "model_cards")),
                        help="where cards and reports go (default: model_cards/)")
    parser.add_argument("--batch-size", type=int, default=64)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.run)
    data_dir, summary = _data_dir(), {}
    for reference in REFERENCES:
        if args.only and reference.card not in args.only:
            continue
        # Relative paths, so that reports and cards name the run as `runs/<name>/best`, not this machine's path.
        run = Path(overrides.get(reference.card, os.path.relpath(REPO / reference.run)))
        if not (run / "best" / "khabar.json").is_file():
            print(f"skipped {reference.card}: no checkpoint at {run / 'best'}", file=sys.stderr)
            summary[reference.card] = {"skipped": f"no checkpoint at {run / 'best'}"}
            continue
        summary[reference.card] = make_card(reference, run, data_dir, args.output, args.batch_size)
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
