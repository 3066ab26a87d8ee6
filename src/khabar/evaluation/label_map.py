"""Reconciling a dataset's label set with a model's: `--label-map MIS=MISC` parsing, mapping, unmapped labels.

A held-out set rarely names its types exactly as the training corpus did (AQMAR's `PER`/`MIS` against
ANERcorp's `PERS`/`MISC`). The map renames the *data's* types; whatever still differs afterwards is listed
as unmapped and scored honestly: a data type the model cannot produce costs recall, a model type absent
from the data costs precision. Nothing is dropped. Only when no type at all is shared is evaluation
meaningless, and that is an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from khabar.data.tags import split_tag
from khabar.errors import LabelSetError

__all__ = [
    "LabelAlignment",
    "LabelSetError",
    "map_labels",
    "map_tags",
    "parse_label_map",
    "reconcile_labels",
]


def parse_label_map(items: Iterable[str] | None) -> dict[str, str]:
    """`["MIS=MISC", "PER=PERS,ORG=ORG"]` -> `{"MIS": "MISC", "PER": "PERS", "ORG": "ORG"}`.

    Each item holds one or more comma-separated `DATA=MODEL` pairs; a data label mapped twice to different
    targets is an error.

    >>> parse_label_map(["MIS=MISC", "PER=PERS"])
    {'MIS': 'MISC', 'PER': 'PERS'}
    """
    mapping: dict[str, str] = {}
    for item in items or ():
        for pair in item.split(","):
            if not pair.strip():
                continue
            source, sep, target = (part.strip() for part in pair.partition("="))
            if not sep or not source or not target or any(c.isspace() for c in source + target):
                raise LabelSetError(f"bad label map entry {pair!r}: expected DATA=MODEL, like MIS=MISC")
            if source in mapping and mapping[source] != target:
                raise LabelSetError(f"label {source!r} is mapped twice: to {mapping[source]!r} and to {target!r}")
            mapping[source] = target
    return mapping


def map_labels(labels: Iterable[str], mapping: Mapping[str, str]) -> list[str]:
    """Rename bare labels (entity types or topics) through `mapping`; others pass unchanged."""
    return [mapping.get(label, label) for label in labels]


def map_tags(tags: Sequence[str], mapping: Mapping[str, str]) -> list[str]:
    """Rename the type of each `B-`/`I-` tag through `mapping`; `O` and unmapped types pass unchanged.

    >>> map_tags(["B-MIS", "I-MIS", "O", "B-LOC"], {"MIS": "MISC"})
    ['B-MISC', 'I-MISC', 'O', 'B-LOC']
    """
    if not mapping:
        return list(tags)
    mapped = []
    for tag in tags:
        prefix, kind = split_tag(tag)
        mapped.append(tag if prefix == "O" else f"{prefix}-{mapping.get(kind, kind)}")
    return mapped


@dataclass(frozen=True)
class LabelAlignment:
    """How the data's labels (after the map) line up with the model's; goes into every report."""

    label_map: dict[str, str]
    common: tuple[str, ...]
    data_only: tuple[str, ...]  # the model can never predict these: all their gold items are misses
    model_only: tuple[str, ...]  # absent from the data: every prediction of these is a false positive
    unused_map: tuple[str, ...] = ()  # map keys that no data label matched
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # per unmapped label: gold/predicted counts

    def with_counts(self, gold: Mapping[str, int], predicted: Mapping[str, int]) -> LabelAlignment:
        """A copy whose `counts` say how many gold and predicted items each unmapped label has."""
        counts = {
            label: {"gold": int(gold.get(label, 0)), "predicted": int(predicted.get(label, 0))}
            for label in (*self.data_only, *self.model_only)
        }
        return LabelAlignment(self.label_map, self.common, self.data_only, self.model_only, self.unused_map, counts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label_map": dict(self.label_map),
            "common": list(self.common),
            "unmapped": {
                "data_only": list(self.data_only),
                "model_only": list(self.model_only),
                "counts": {label: dict(value) for label, value in self.counts.items()},
            },
            "unused_map": list(self.unused_map),
        }


def reconcile_labels(
    data_labels: Iterable[str], model_labels: Iterable[str], mapping: Mapping[str, str] | None = None
) -> LabelAlignment:
    """Compare the data's labels (renamed by `mapping`) with the model's; no label in common is an error.

    >>> alignment = reconcile_labels(["PER", "MIS", "LOC"], ["PERS", "MISC", "LOC", "ORG"], {"MIS": "MISC"})
    >>> alignment.common, alignment.data_only, alignment.model_only
    (('LOC', 'MISC'), ('PER',), ('ORG', 'PERS'))
    """
    mapping = dict(mapping or {})
    raw = set(data_labels)
    data = set(map_labels(raw, mapping))
    model = set(model_labels)
    common = data & model
    if not common:
        hint = " (check the --label-map)" if mapping else "; map them with --label-map DATA=MODEL, e.g. MIS=MISC"
        raise LabelSetError(
            f"the data's labels ({', '.join(sorted(data)) or 'none'}) and the model's "
            f"({', '.join(sorted(model)) or 'none'}) have nothing in common{hint}"
        )
    return LabelAlignment(
        label_map=mapping,
        common=tuple(sorted(common)),
        data_only=tuple(sorted(data - model)),
        model_only=tuple(sorted(model - data)),
        unused_map=tuple(sorted(set(mapping) - raw)),
    )
