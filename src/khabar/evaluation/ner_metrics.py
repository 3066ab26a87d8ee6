"""Entity-level NER scores with seqeval, in its default (CoNLL) mode and in strict IOB2 mode."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.scheme import IOB2

from khabar.errors import UsageError

__all__ = ["PRF", "EntityScores", "score_entities"]


@dataclass(frozen=True)
class PRF:
    """Precision, recall, F1 and support of one entity type (or of all of them)."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class EntityScores:
    """Overall micro P/R/F1, macro F1 and per-type scores for one seqeval mode."""

    mode: str
    micro: PRF
    macro_f1: float
    per_type: dict[str, PRF]

    @property
    def f1(self) -> float:
        return self.micro.f1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_entities(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], *, strict: bool = False
) -> EntityScores:
    """Score predicted tag sequences against gold ones.

    Default mode is the CoNLL evaluation that published ANERcorp figures use (an I- after O starts an
    entity); strict mode accepts only well-formed IOB2 entities.
    """
    if len(gold) != len(predicted):
        raise UsageError(f"{len(gold)} gold sequences but {len(predicted)} predicted ones")
    for index, (g, p) in enumerate(zip(gold, predicted, strict=True)):
        if len(g) != len(p):
            raise UsageError(f"sequence {index}: {len(g)} gold tags but {len(p)} predicted tags")
    options: dict[str, Any] = {"mode": "strict", "scheme": IOB2} if strict else {}
    gold_lists = [list(g) for g in gold]
    pred_lists = [list(p) for p in predicted]
    report = classification_report(gold_lists, pred_lists, output_dict=True, zero_division=0, **options)
    per_type = {
        name: PRF(row["precision"], row["recall"], row["f1-score"], int(row["support"]))
        for name, row in report.items()
        if name not in {"micro avg", "macro avg", "weighted avg"}
    }
    support = sum(score.support for score in per_type.values())
    micro = PRF(
        precision_score(gold_lists, pred_lists, zero_division=0, **options),
        recall_score(gold_lists, pred_lists, zero_division=0, **options),
        f1_score(gold_lists, pred_lists, zero_division=0, **options),
        support,
    )
    macro = report["macro avg"]["f1-score"] if "macro avg" in report else 0.0
    return EntityScores("strict" if strict else "default", micro, float(macro), per_type)
