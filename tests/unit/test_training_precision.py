"""Training precision by capability: the `auto` policy, forced values, and the probe both ways."""

from __future__ import annotations

import pytest
import torch

from khabar import hardware
from khabar.training.precision import PrecisionChoice, choose_mixed_precision

CPU = torch.device("cpu")


def simulate_cpu(monkeypatch: pytest.MonkeyPatch, *, amx: bool, avx512_bf16: bool = True) -> None:
    features = hardware.CpuFeatures(amx_bf16=amx, avx512_bf16=avx512_bf16, avx512f=True, avx2=True)
    monkeypatch.setattr(hardware, "cpu_features", lambda: features)


def test_auto_takes_bf16_only_where_the_cpu_has_amx(monkeypatch):
    simulate_cpu(monkeypatch, amx=True)
    assert choose_mixed_precision("auto", CPU).accelerate_value == "bf16"
    simulate_cpu(monkeypatch, amx=False)  # AVX512-BF16 alone: measured slower than fp32
    choice = choose_mixed_precision("auto", CPU)
    assert choice.accelerate_value == "no" and "no native bf16" in choice.reason and "no AMX-BF16" in choice.reason
    simulate_cpu(monkeypatch, amx=False, avx512_bf16=False)
    assert choose_mixed_precision("auto", CPU).accelerate_value == "no"


@pytest.mark.parametrize(("requested", "expected"), [("fp32", "no"), ("no", "no"), ("fp16", "fp16"), (None, None)])
def test_explicit_values_are_kept(monkeypatch, requested, expected):
    simulate_cpu(monkeypatch, amx=True)
    assert choose_mixed_precision(requested, CPU).accelerate_value == expected


def test_forced_bf16_without_native_support_is_kept_but_flagged(monkeypatch):
    simulate_cpu(monkeypatch, amx=False)
    choice = choose_mixed_precision("bf16", CPU)
    assert choice.accelerate_value == "bf16" and choice.slow and "emulates" in choice.reason
    simulate_cpu(monkeypatch, amx=True)
    assert not choose_mixed_precision("bf16", CPU).slow


def test_labels_name_fp32_rather_than_accelerates_no():
    assert PrecisionChoice.label("no") == "fp32" and PrecisionChoice.label("bf16") == "bf16"


def test_cpu_features_describe_what_is_present_and_missing():
    text = hardware.CpuFeatures(avx512_bf16=True, avx2=True).describe()
    assert text.startswith("AVX512-BF16, AVX2; no ") and "AMX-BF16" in text.split("no ", 1)[1]
    assert isinstance(hardware.cpu_features().describe(), str)
