"""What this machine computes fast: the one probe behind training's and the Analyzer's `auto` precision.

bfloat16 pays only where the hardware multiplies it natively: CUDA GPUs with bf16, and CPUs with AMX. Elsewhere
PyTorch converts and multiplies in wider registers and bf16 is slower than fp32, sometimes by far. Measured with
PyTorch 2.13 (a 1024 x 384 by 384 x 1536 matmul, 2 cores): on a Xeon with AVX512-BF16 but no AMX, fp32 274 GFLOP/s
against bf16 152 (a training step of the reference NER config: fp32 0.85 s, bf16 autocast 1.36 s); on an AMD
EPYC with AVX2 only, fp32 133 against bf16 1.2. So AVX512-BF16 alone does not count as native here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

__all__ = ["CpuFeatures", "cpu_features", "native_bf16"]

_FLAG_NAMES = {"amx_bf16": "AMX-BF16", "avx512_bf16": "AVX512-BF16", "avx512_vnni": "AVX512-VNNI",
               "avx512f": "AVX512F", "avx2": "AVX2"}


@dataclass(frozen=True)
class CpuFeatures:
    """The instruction sets that decide which precision is fast; reported beside every benchmark figure."""

    amx_bf16: bool = False
    avx512_bf16: bool = False
    avx512_vnni: bool = False
    avx512f: bool = False
    avx2: bool = False

    def describe(self) -> str:
        """A short line such as 'AVX512F, AVX512-BF16, AVX512-VNNI, AVX2; no AMX-BF16' for reports."""
        present = [label for name, label in _FLAG_NAMES.items() if getattr(self, name)]
        absent = [label for name, label in _FLAG_NAMES.items() if not getattr(self, name)]
        text = ", ".join(present) or "none of " + ", ".join(_FLAG_NAMES.values())
        return f"{text}; no {', '.join(absent)}" if present and absent else text


def _linux_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _torch_probe(name: str) -> bool:
    """PyTorch's own CPUID check (private API, so optional); it also knows whether the OS enabled AMX tiles."""
    probe = getattr(torch.cpu, name, None)
    try:
        return bool(probe()) if callable(probe) else False
    except RuntimeError:
        return False


@functools.cache
def cpu_features() -> CpuFeatures:
    """Read once per process: /proc/cpuinfo on Linux, PyTorch's CPUID probe elsewhere (macOS, Windows)."""
    flags = _linux_flags()
    return CpuFeatures(
        amx_bf16="amx_bf16" in flags or _torch_probe("_is_amx_tile_supported"),
        avx512_bf16="avx512_bf16" in flags or _torch_probe("_is_avx512_bf16_supported"),
        avx512_vnni="avx512_vnni" in flags or _torch_probe("_is_vnni_supported"),
        avx512f="avx512f" in flags or _torch_probe("_is_avx512_supported"),
        avx2="avx2" in flags or _torch_probe("_is_avx2_supported"),
    )


def native_bf16(device: str | torch.device) -> bool:
    """Whether `device` multiplies bfloat16 faster than fp32: a CUDA GPU with bf16, or a CPU with AMX."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_features().amx_bf16
