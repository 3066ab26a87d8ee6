"""Devices: `auto` picks CUDA when there is one, and a device this machine or this PyTorch build lacks is one
DeviceError (a KhabarError) before any model is read, never a traceback from deep inside torch."""

from __future__ import annotations

import pytest
import torch

from khabar.errors import DeviceError, KhabarError
from khabar.inference import resolve_device


def test_auto_is_cuda_when_available_else_cpu() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device(None).type == expected
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_without_cuda_is_a_device_error(device: str) -> None:
    with pytest.raises(DeviceError, match="CUDA") as caught:
        resolve_device(device)
    assert isinstance(caught.value, KhabarError)


@pytest.mark.parametrize("device", ["gpu", "tpu:0", "x" * 5000, "cpu:banana"])
def test_unknown_devices_are_named_briefly(device: str) -> None:
    with pytest.raises(DeviceError) as caught:
        resolve_device(device)
    assert len(str(caught.value)) < 300


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_loading_on_a_missing_device_fails_before_reading_the_checkpoint(tmp_path) -> None:
    from khabar.inference import Analyzer, load_checkpoint

    with pytest.raises(DeviceError):
        load_checkpoint(tmp_path / "not-even-there", "ner", device="cuda")
    with pytest.raises(DeviceError):
        Analyzer.load(ner=tmp_path / "not-even-there", device="cuda")
