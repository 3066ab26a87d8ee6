"""Several processes under `accelerate launch`: sharded evaluation, shared decisions, per-process step counts.

With DDP each process draws its own batches (`training.batch_size` each, so the global batch is that times the
number of processes), and accelerate steps a prepared scheduler once per process for every optimizer step.
"""

from __future__ import annotations

import math

import torch
from accelerate import Accelerator
from accelerate.utils import broadcast

from khabar.inference.forward import ProcessShard

__all__ = ["batches_per_process", "evaluation_shard", "mean_across", "shared_by_main"]


def batches_per_process(batches: int, num_processes: int) -> int:
    """Batches each process sees in an epoch: accelerate shards a batch sampler evenly, padding the last round."""
    return math.ceil(batches / num_processes)


def evaluation_shard(accelerator: Accelerator) -> ProcessShard | None:
    """This process's share of an evaluation pass (None when there is only one process)."""
    if accelerator.num_processes == 1:
        return None

    def sum_across(tensor: torch.Tensor) -> torch.Tensor:
        return accelerator.reduce(tensor.to(accelerator.device), reduction="sum").cpu()

    return ProcessShard(accelerator.process_index, accelerator.num_processes, sum_across)


def shared_by_main(accelerator: Accelerator, values: list[float]) -> list[float]:
    """The main process's `values` on every process, so that all take the same decision (best, stop)."""
    if accelerator.num_processes == 1:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=accelerator.device)
    return broadcast(tensor, from_process=0).cpu().tolist()


def mean_across(accelerator: Accelerator, value: float) -> float:
    """The mean of a scalar over all processes (the logged training loss covers every process's batches)."""
    if accelerator.num_processes == 1:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=accelerator.device)
    return float(accelerator.reduce(tensor, reduction="mean").item())
