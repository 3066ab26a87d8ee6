"""Resume state without pickle: trainable weights, optimiser moments and RNG states in safetensors, the rest in JSON."""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from khabar.checkpoint import remove_stale_staging, write_folder_atomically
from khabar.errors import CheckpointError

__all__ = ["LoopState", "load_training_state", "save_training_state"]

STATE_FILE = "trainer_state.json"


@dataclass
class LoopState:
    """Where the loop stands: completed epochs, steps, the best dev score so far and the evaluation history."""

    epoch: int = 0
    global_step: int = 0
    best_score: float | None = None
    best_step: int | None = None
    evaluations_without_improvement: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    state_dict = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, values in state_dict["state"].items():
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(index), {})[name] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def _restore_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    for index, values in meta["scalars"].items():
        state.setdefault(int(index), {}).update(values)
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def save_training_state(folder: Path, model: torch.nn.Module, optimizer, scheduler, loop: LoopState) -> None:
    """Write everything `--resume` needs into `folder`, atomically (files and folder as the umask says)."""
    trainable = {n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad}
    optimizer_tensors, optimizer_meta = _optimizer_tensors(optimizer)
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng.update({f"cuda{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    numpy_state = np.random.get_state()
    document = {
        "loop": asdict(loop),
        "optimizer": optimizer_meta,
        "scheduler": scheduler.state_dict(),
        "python_random": [list(x) if isinstance(x, tuple) else x for x in random.getstate()],
        "numpy_random": [numpy_state[0], numpy_state[1].tolist(), *numpy_state[2:]],
    }

    def fill(staging: Path) -> None:
        save_file(trainable, staging / "trainable.safetensors")
        save_file(optimizer_tensors, staging / "optimizer.safetensors")
        save_file(rng, staging / "rng.safetensors")
        (staging / STATE_FILE).write_text(json.dumps(document), encoding="utf-8")

    write_folder_atomically(folder, fill)


def load_training_state(folder: Path, model: torch.nn.Module, optimizer, scheduler) -> LoopState:
    """Restore weights, optimiser, schedule and RNGs saved by `save_training_state`; returns the loop state."""
    # A state write killed part way leaves `.state.tmp-*` (a copy of the weights and moments) beside the folder.
    # Safe in every process of a multi-process run: only folders whose writer is gone are removed.
    remove_stale_staging(folder)
    if not (folder / STATE_FILE).is_file():
        raise CheckpointError(f"cannot resume: {folder} has no {STATE_FILE} (no completed epoch was saved)")
    document = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    weights = load_file(folder / "trainable.safetensors")
    missing = [n for n, p in model.named_parameters() if p.requires_grad and n not in weights]
    if missing:
        raise CheckpointError(f"cannot resume from {folder}: it lacks weights for {missing[:3]} (another model?)")
    with torch.no_grad():
        parameters = dict(model.named_parameters())
        for name, value in weights.items():
            parameters[name].copy_(value)
    _restore_optimizer(optimizer, load_file(folder / "optimizer.safetensors"), document["optimizer"])
    scheduler.load_state_dict(document["scheduler"])
    rng = load_file(folder / "rng.safetensors")
    torch.set_rng_state(rng["torch"])
    if torch.cuda.is_available():
        torch.cuda.set_rng_state_all([rng[f"cuda{i}"] for i in range(torch.cuda.device_count()) if f"cuda{i}" in rng])
    version, internal, gauss = document["python_random"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, position, has_gauss, cached = document["numpy_random"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), position, has_gauss, cached))
    return LoopState(**document["loop"])
