"""Train and dev examples from a data config, and the record of them that goes into a checkpoint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from khabar.data import split_dev
from khabar.data.hf_inputs import data_fingerprint
from khabar.training.config import DataConfig

__all__ = ["load_train_dev", "training_data_record"]

T = TypeVar("T")


def load_train_dev(data: DataConfig, read: Callable[[str], list[T]]) -> tuple[list[T], list[T]]:
    """Read train (and dev, or carve it from train as configured), then apply the example limits."""
    train = read(data.train)
    if data.dev:
        dev = read(data.dev)
    elif data.dev_fraction == 0:
        dev = []  # train on all of train; the loop then keeps the last epoch (see `khabar.training.loop`)
    else:
        train, dev = split_dev(train, fraction=data.dev_fraction, seed=data.dev_seed, method=data.dev_selection)
    if data.max_train_examples:
        train = train[: data.max_train_examples]
    if data.max_eval_examples:
        dev = dev[: data.max_eval_examples]
    return train, dev


def training_data_record(data: DataConfig, train_count: int, dev_count: int, unit: str) -> dict[str, Any]:
    """What `khabar.json` says about the training data: paths, how dev was made, a fingerprint, counts."""
    return {
        "train": data.train,
        "dev": data.dev or (
            f"{data.dev_fraction:.0%} of train ({data.dev_selection}, seed {data.dev_seed})"
            if data.dev_fraction else "none: all of train, last epoch kept"
        ),
        "sha256": data_fingerprint([p for p in (data.train, data.dev) if p]),
        f"train_{unit}": train_count,
        f"dev_{unit}": dev_count,
    }
