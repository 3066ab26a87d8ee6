"""Forward passes over windows: length-sorted batches, dynamic padding, inference mode, optional process shards.

The only place in khabar where a model runs forward outside the training loss. The predictors (`ner.py`,
`topics.py`) build windows and read results; this module turns windows into logits.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from khabar.errors import UsageError
from khabar.features import TokenWindow, collate

__all__ = [
    "ForwardOptions",
    "ProcessShard",
    "iterate_batches_by_length",
    "pool_windows",
    "predict_windows",
    "to_probabilities",
    "word_probabilities",
]


def iterate_batches_by_length(windows: Sequence[TokenWindow], batch_size: int) -> Iterator[list[int]]:
    """Indices of windows in batches of similar length, so that padding wastes little compute."""
    order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


@dataclass(frozen=True)
class ProcessShard:
    """One process's part of a prediction spread over `count` processes (evaluation under `accelerate launch`).

    Every process builds the same windows and batches; batch k runs on process k % count. `sum_across` adds a
    tensor over all processes (an all-reduce). Each process fills in the logits of its own batches and zeros
    elsewhere, so the sum holds every window's logits exactly (x + 0 == x) on every process, without pickling.
    The batches are the ones a single process would run, so the logits and metrics equal a 1-process run's.
    """

    index: int
    count: int
    sum_across: Callable[[torch.Tensor], torch.Tensor]


def _combine_shards(
    results: list[torch.Tensor | None], windows: Sequence[TokenWindow], num_labels: int, shard: ProcessShard
) -> list[torch.Tensor]:
    """Every window's logits on every process: one flat all-reduce over all windows."""
    token_level = sum(1 for r in results if r is not None and r.dim() == 2)
    sequence_level = sum(1 for r in results if r is not None and r.dim() == 1)
    kinds = shard.sum_across(torch.tensor([token_level, sequence_level], dtype=torch.float32))
    shapes = [(len(w), num_labels) if kinds[0] > 0 else (num_labels,) for w in windows]
    offsets = [0]
    for shape in shapes:
        offsets.append(offsets[-1] + shape[0] * (shape[1] if len(shape) == 2 else 1))
    flat = torch.zeros(offsets[-1], dtype=torch.float32)
    for index, result in enumerate(results):
        if result is not None:
            flat[offsets[index] : offsets[index + 1]] = result.reshape(-1)
    flat = shard.sum_across(flat)
    return [flat[offsets[i] : offsets[i + 1]].reshape(shapes[i]) for i in range(len(windows))]


def predict_windows(
    model: torch.nn.Module,
    windows: Sequence[TokenWindow],
    *,
    pad_id: int,
    batch_size: int = 32,
    device: torch.device | str | None = None,
    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
    progress: bool = False,
    shard: ProcessShard | None = None,
) -> list[torch.Tensor]:
    """Logits for each window, in the order given (token logits [tokens, labels] or sequence logits [labels]).

    With `shard`, this process runs only its share of the batches and the others' logits are collected.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    results: list[torch.Tensor | None] = [None] * len(windows)
    was_training = model.training
    model.eval()
    batches = list(iterate_batches_by_length(windows, batch_size))
    if shard is not None:
        batches = batches[shard.index :: shard.count]
    with torch.inference_mode(), autocast():
        for indices in tqdm(batches, desc="predicting", unit="batch", disable=not progress, leave=False):
            batch = collate([windows[i] for i in indices], pad_id)
            logits = model(
                input_ids=batch.input_ids.to(device), attention_mask=batch.attention_mask.to(device)
            ).logits.float().cpu()
            for row, index in enumerate(indices):
                results[index] = logits[row, : len(windows[index])] if logits.dim() == 3 else logits[row]
    model.train(was_training)
    if shard is not None and shard.count > 1:
        return _combine_shards(results, windows, model.config.num_labels, shard)
    return results  # type: ignore[return-value]


@dataclass(kw_only=True)
class ForwardOptions:
    """How a predictor runs its forward passes: batch size (windows), device, autocast, process shard, progress.

    The predictors inherit these; `forward` runs the model over windows with them.
    """

    batch_size: int = 32
    device: torch.device | str | None = None
    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext
    shard: ProcessShard | None = None
    progress: bool = False

    def forward(self, model: torch.nn.Module, windows: Sequence[TokenWindow], pad_id: int) -> list[torch.Tensor]:
        return predict_windows(
            model, windows, pad_id=pad_id, batch_size=self.batch_size, device=self.device, autocast=self.autocast,
            progress=self.progress, shard=self.shard,
        )


def word_probabilities(
    windows: Sequence[TokenWindow], logits: Sequence[torch.Tensor], word_counts: Sequence[int]
) -> list[torch.Tensor]:
    """Per example, a [words, labels] tensor of label probabilities read at each word's first sub-token.

    Each word is read from the one window that owns it (see `khabar.features.plan_windows`).
    """
    num_labels = logits[0].shape[-1] if logits else 0
    probabilities = [torch.full((count, num_labels), float("nan")) for count in word_counts]
    for window, window_logits in zip(windows, logits, strict=True):
        positions = window.first_token_positions()
        if not positions:
            continue
        words = torch.tensor(list(positions.keys()))
        rows = torch.tensor(list(positions.values()))
        probabilities[window.example][words] = torch.softmax(window_logits[rows], dim=-1)
    for example, table in enumerate(probabilities):
        if table.numel() and torch.isnan(table).any():
            missing = torch.isnan(table[:, 0]).nonzero().flatten().tolist()
            raise RuntimeError(f"example {example}: words {missing[:10]} were not covered by any window")
    return probabilities


def pool_windows(window_logits: torch.Tensor, window_doc: torch.Tensor, num_docs: int, mode: str) -> torch.Tensor:
    """Pool per-window logits [windows, labels] into per-document logits [docs, labels] by mean or max."""
    labels = window_logits.shape[-1]
    index = window_doc.unsqueeze(-1).expand(-1, labels)
    if mode == "max":
        pooled = torch.full((num_docs, labels), float("-inf"), dtype=window_logits.dtype, device=window_logits.device)
        return pooled.scatter_reduce(0, index, window_logits, reduce="amax", include_self=True)
    if mode != "mean":
        raise UsageError(f"pooling must be 'mean' or 'max', got {mode!r}")
    summed = torch.zeros((num_docs, labels), dtype=window_logits.dtype, device=window_logits.device)
    summed = summed.scatter_add(0, index, window_logits)
    counts = torch.bincount(window_doc, minlength=num_docs).clamp(min=1).unsqueeze(-1).to(window_logits.dtype)
    return summed / counts


def to_probabilities(logits: torch.Tensor, function: str) -> torch.Tensor:
    """Topic logits to probabilities: `sigmoid` per label (multi-label) or `softmax` over labels."""
    if function == "sigmoid":
        return torch.sigmoid(logits)
    if function == "softmax":
        return torch.softmax(logits, dim=-1)
    raise UsageError(f"probability function must be 'sigmoid' or 'softmax', got {function!r}")
