"""How well khabar separates proclitics from names, against the alternatives, on the team's gold set.

Two measurements, both on `benchmarks/data/proclitic-gold/{dev,test}.jsonl` (see its GUIDELINES.md):

1. The split decision alone, on every gold entity whose first word begins with و ف ب ل or ك, given the gold
   entity (so NER errors do not blur it): the share read right, split by kind of word (a proclitic glued to the
   name, or a name that begins with one of those letters) and by kind of error (under-split: a proclitic left
   on the name; over-split: a letter of the name cut off). Methods compared: never split (today's word spans),
   strip any leading proclitic letters (the naive rule), strip only before the article ال, and the lexicon rule
   of `khabar.text.clitics` with several settings. Settings are chosen on dev; test is reported.
2. End to end with an NER checkpoint: exact, proclitic-tolerant and overlap span F1 of the Analyzer with
   clitics="split" and "keep" (fp32).

    HF_HUB_OFFLINE=1 python benchmarks/proclitics.py --ner runs/ner-anercorp-offline-fp32 \
        --output benchmarks/results/proclitics.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections import Counter
from pathlib import Path

from khabar.data import read_span_jsonl
from khabar.data.spans import SpanDocument
from khabar.hardware import cpu_features
from khabar.text import split_words
from khabar.text.clitics import (
    ARTICLE,
    DecisionRule,
    ProcliticLexicon,
    ProcliticReader,
    Reading,
    readings,
)
from khabar.text.normalize import normalize_word

GOLD_DIR = Path(__file__).resolve().parent / "data" / "proclitic-gold"
LETTERS = "وفبلك"


class KeepReader(ProcliticReader):
    """Never split: the whole-word spans every Arabic NER corpus and toolkit gives."""

    def choose(self, word: str) -> Reading | None:
        return None


class StripReader(ProcliticReader):
    """Strip the longest proclitic sequence that leaves a stem: right on والصين, wrong on every وليد or بغداد."""

    def choose(self, word: str) -> Reading | None:
        plain = [r for r in readings(word) if not r.fused_article]
        fused = [r for r in readings(word) if r.fused_article]
        return (fused or plain or [None])[0]


class ArticleReader(ProcliticReader):
    """Strip only before the article (و + الصين, ل + لصين fused): names rarely begin with وال or بال."""

    def choose(self, word: str) -> Reading | None:
        found = [r for r in readings(word) if r.stem.startswith(ARTICLE)]
        return (found or [None])[0]


def gold_cases(documents: list[SpanDocument]) -> list[dict]:
    """One case per gold entity whose first word starts with a proclitic letter: the word and the gold skip."""
    cases = []
    for document in documents:
        words = split_words(document.text)
        for entity in document.entities:
            word = next(w for w in words if w.start <= entity.start < w.end)
            normalized = normalize_word(word.text)
            if not normalized or normalized[0] not in LETTERS:
                continue
            gold_skip = entity.start - word.start
            prefix = normalize_word(word.text[:gold_skip])
            name = normalize_word(document.text[entity.start : word.end])
            fused = name.startswith("لل")
            kind = "proclitic" if prefix or fused else "name_initial"
            name_initial = (name[:1] in LETTERS) and not fused
            cases.append({
                "document": document.id, "word": word.text, "gold_skip": gold_skip, "kind": kind,
                "name_initial": name_initial,
            })
    return cases


def score_reader(reader: ProcliticReader, cases: list[dict], keep_errors: bool = False) -> dict:
    """Accuracy per kind of word, with under- and over-split counts."""
    tallies: dict[str, Counter] = {}
    errors = []
    for case in cases:
        skip = reader.read(case["word"]).skip
        outcome = "right" if skip == case["gold_skip"] else "under" if skip < case["gold_skip"] else "over"
        groups = ["all", case["kind"]]
        if case["kind"] == "proclitic" and case["name_initial"]:
            groups.append("proclitic_before_name_initial")
        for group in groups:
            tallies.setdefault(group, Counter())[outcome] += 1
        if outcome != "right" and keep_errors:
            errors.append({**case, "predicted_skip": skip, "outcome": outcome})
    result: dict = {}
    for group, tally in tallies.items():
        total = sum(tally.values())
        result[group] = {
            "n": total, "accuracy": round(tally["right"] / total, 4),
            "under_split": tally["under"], "over_split": tally["over"],
        }
    if keep_errors:
        result["errors"] = errors
    return result


def readers(lexicon: ProcliticLexicon) -> dict[str, ProcliticReader]:
    """The methods compared: the baselines, then the lexicon rule over a small grid of settings."""
    found: dict[str, ProcliticReader] = {
        "keep (word spans)": KeepReader(lexicon),
        "strip any proclitic": StripReader(lexicon),
        "strip before the article": ArticleReader(lexicon),
    }
    for weight in (0.0, 1.0, 2.0):
        for margin in (0.0, 1.0):
            for unknown in ("shape", "article", "split", "keep"):
                rule = DecisionRule(entity_weight=weight, margin=margin, unknown=unknown)
                found[f"lexicon w={weight} m={margin} unknown={unknown}"] = ProcliticReader(lexicon, rule)
    return found


def decision_results(lexicon: ProcliticLexicon) -> dict:
    splits = {split: gold_cases(read_span_jsonl(GOLD_DIR / f"{split}.jsonl")) for split in ("dev", "test")}
    methods = readers(lexicon)
    dev = {name: score_reader(reader, splits["dev"]) for name, reader in methods.items()}
    lexicon_methods = [name for name in methods if name.startswith("lexicon")]
    chosen = max(lexicon_methods, key=lambda name: (dev[name]["all"]["accuracy"], name == default_name()))
    test = {name: score_reader(methods[name], splits["test"], keep_errors=name == chosen) for name in methods}
    return {"chosen_on_dev": chosen, "default": default_name(), "dev": dev, "test": test}


def default_name() -> str:
    rule = DecisionRule()
    return f"lexicon w={rule.entity_weight} m={rule.margin} unknown={rule.unknown}"


def end_to_end(ner: str, batch_size: int) -> dict:
    from khabar.evaluation.spans import evaluate_ner_spans

    results = {}
    for split in ("dev", "test"):
        for clitics in ("split", "keep"):
            report = evaluate_ner_spans(ner, GOLD_DIR / f"{split}.jsonl", precision="fp32", batch_size=batch_size,
                                        clitics=clitics, device="cpu")
            results[f"{split} clitics={clitics}"] = {
                mode: round(report.results[mode]["micro"]["f1"], 4) for mode in report.modes
            }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ner", help="NER checkpoint for the end-to-end F1 (skipped without it)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--output", type=Path, help="write the results as JSON")
    args = parser.parse_args(argv)
    lexicon = ProcliticLexicon.load()
    results: dict = {
        "machine": {"platform": platform.platform(), "cpu_features": cpu_features().describe()},
        "gold": {split: len(read_span_jsonl(GOLD_DIR / f"{split}.jsonl")) for split in ("dev", "test")},
        "decision": decision_results(lexicon),
    }
    if args.ner:
        results["end_to_end"] = end_to_end(args.ner, args.batch_size)
    table = print
    decision = results["decision"]
    table(f"split decision on gold entity words (chosen on dev: {decision['chosen_on_dev']})")
    table(f"{'method':<44} {'dev all':>8} {'test all':>8} {'proclitic':>10} {'name-init':>10} {'under':>6} {'over':>6}")
    for name, scores in decision["test"].items():
        dev_all = decision["dev"][name]["all"]["accuracy"]
        table(f"{name:<44} {dev_all:>8.3f} {scores['all']['accuracy']:>8.3f} "
              f"{scores['proclitic']['accuracy']:>10.3f} {scores['name_initial']['accuracy']:>10.3f} "
              f"{scores['all']['under_split']:>6} {scores['all']['over_split']:>6}")
    for name, scores in results.get("end_to_end", {}).items():
        table(f"{name}: " + ", ".join(f"{mode} F1 {value:.4f}" for mode, value in scores.items()))
    if args.output:
        args.output.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
