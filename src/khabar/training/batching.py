"""Length-grouped batches: examples of similar length share a batch, so dynamic padding wastes little."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler

from khabar.errors import ConfigError

__all__ = ["LengthGroupedBatchSampler"]


class LengthGroupedBatchSampler(Sampler[list[int]]):
    """Shuffle, cut into pools of `pool_batches` batches, sort each pool by length, then shuffle the batches.

    Deterministic for a given seed and epoch (call `set_epoch`), which is what makes `--resume` reproduce an
    uninterrupted run.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        *,
        seed: int = 0,
        shuffle: bool = True,
        group_by_length: bool = True,
        pool_batches: int = 50,
        max_tokens: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"training.batch_size must be >= 1, got {batch_size}")
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.group_by_length = group_by_length
        self.pool_size = batch_size * pool_batches
        self.max_tokens = max_tokens
        self.epoch = 0
        self._count: int | None = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        if self.max_tokens is None:
            return math.ceil(len(self.lengths) / self.batch_size)
        if self._count is None:  # token-capped batches: count them once (the same for every epoch's order)
            self._count = sum(1 for _ in self._batches(0))
        return self._count

    def _split_by_tokens(self, batch: list[int]) -> list[list[int]]:
        """Cut a batch so each part's total length stays within max_tokens (a longer item goes alone)."""
        if self.max_tokens is None:
            return [batch]
        parts: list[list[int]] = [[]]
        total = 0
        for index in batch:
            if parts[-1] and total + self.lengths[index] > self.max_tokens:
                parts.append([])
                total = 0
            parts[-1].append(index)
            total += self.lengths[index]
        return parts

    def __iter__(self) -> Iterator[list[int]]:
        yield from self._batches(self.epoch)

    def _batches(self, epoch: int) -> list[list[int]]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        count = len(self.lengths)
        order = torch.randperm(count, generator=generator).tolist() if self.shuffle else list(range(count))
        batches: list[list[int]] = []
        for start in range(0, count, self.pool_size):
            pool = order[start : start + self.pool_size]
            if self.group_by_length:
                pool.sort(key=lambda i: self.lengths[i], reverse=True)
            for i in range(0, len(pool), self.batch_size):
                batches.extend(self._split_by_tokens(pool[i : i + self.batch_size]))
        if self.shuffle:
            batches = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
        return batches
