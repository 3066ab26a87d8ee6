"""Training precision: the config's `training.mixed_precision` turned into accelerate's setting for this device."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from khabar.hardware import cpu_features, native_bf16

__all__ = ["PrecisionChoice", "choose_mixed_precision", "resolved_label"]


@dataclass(frozen=True)
class PrecisionChoice:
    """What the run will use (`accelerate` spelling: no, bf16, fp16, or None for the launcher's) and why."""

    requested: str | None
    accelerate_value: str | None
    reason: str
    slow: bool = False  # bf16 forced on a device that only emulates it

    @staticmethod
    def label(accelerate_value: str) -> str:
        """The name written to config.yaml and model cards: fp32 rather than accelerate's `no`."""
        return "fp32" if accelerate_value == "no" else accelerate_value


def _device_words(device: torch.device) -> str:
    if device.type == "cpu":
        return f"CPU ({cpu_features().describe()})"
    return f"{device.type} device"


def choose_mixed_precision(requested: str | None, device: torch.device) -> PrecisionChoice:
    """auto: bf16 where `device` multiplies it natively, else fp32; explicit values are kept, null defers."""
    if requested is None:
        return PrecisionChoice(None, None, "as `accelerate launch` or its config file says")
    if requested in ("fp32", "no"):
        return PrecisionChoice(requested, "no", "fp32 as configured")
    native = native_bf16(device)
    if requested == "auto":
        if native:
            return PrecisionChoice(requested, "bf16", f"auto: {_device_words(device)} multiplies bf16 natively")
        return PrecisionChoice(requested, "no", f"auto: {_device_words(device)} has no native bf16 matmul")
    if requested == "bf16" and not native:
        reason = f"bf16 as configured, but {_device_words(device)} emulates it: expect much slower steps than fp32"
        return PrecisionChoice(requested, "bf16", reason, slow=True)
    return PrecisionChoice(requested, requested, f"{requested} as configured")


def resolved_label(requested: str | None, device: torch.device) -> str:
    """What a plain (unlaunched) run on `device` records for `requested`: fp32, bf16 or fp16."""
    return PrecisionChoice.label(choose_mixed_precision(requested, device).accelerate_value or "no")
