"""Checkpoint folders: a Hugging Face model folder plus `khabar.json`, written atomically and validated on load."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import shutil
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from khabar.errors import CheckpointError, KhabarError, quote, shorten

__all__ = [
    "DEFAULT_THRESHOLD",
    "METADATA_FILE",
    "PICKLE_PATTERNS",
    "CheckpointMetadata",
    "check_safetensors_files",
    "file_fingerprint",
    "pickle_refusal",
    "probability_function",
    "read_metadata",
    "remove_stale_staging",
    "resolve_checkpoint_folder",
    "write_folder_atomically",
]

METADATA_FILE = "khabar.json"
FORMAT_VERSION = 1
# A multi-label topic is predicted at or above its threshold; labels the checkpoint recorded none for use this.
DEFAULT_THRESHOLD = 0.5
# Weight files that torch reads with pickle, which can run code while loading: a folder holding one is refused,
# and the file is never opened, even when safetensors weights sit beside it.
PICKLE_PATTERNS = ("*.bin", "*.bin.index.json", "*.pt", "*.pth", "*.ckpt", "*.pkl", "*.pickle")
# Staging folders of this process are newer than this; older ones of a dead process are leftovers.
_PROCESS_STARTED = time.time()


def probability_function(multi_label: bool) -> str:
    """Topic logits become probabilities by `sigmoid` per label (multi-label) or `softmax` over labels."""
    return "sigmoid" if multi_label else "softmax"


@dataclass
class CheckpointMetadata:
    """What khabar needs beyond config.json to serve a checkpoint exactly as it was trained."""

    task: str
    labels: list[str]
    backbone: str
    max_length: int
    stride: int
    normalization: dict[str, bool]
    library_version: str
    tag_scheme: str | None = None
    label_all_subtokens: bool = False
    context: str = "sentence"
    multi_label: bool = False
    pooling: str = "mean"
    thresholds: dict[str, float] = field(default_factory=dict)
    training_data: dict[str, Any] = field(default_factory=dict)
    dev_metrics: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, indent=2)

    @property
    def packs_sentences(self) -> bool:
        """NER: whether consecutive sentences share windows (trained with `model.context: packed`)."""
        return self.context == "packed"

    @property
    def probability(self) -> str:
        """Topics: how logits become probabilities (see `probability_function`)."""
        return probability_function(self.multi_label)

    def threshold_list(self) -> list[float]:
        """Multi-label topics: each label's decision threshold, in label order."""
        return [float(self.thresholds.get(label, DEFAULT_THRESHOLD)) for label in self.labels]


def resolve_checkpoint_folder(path: str | Path) -> Path:
    """The checkpoint folder itself, or a run folder's `best/` (what a run folder serves)."""
    path = Path(path)
    if path.is_dir() and not (path / METADATA_FILE).is_file() and (path / "best" / METADATA_FILE).is_file():
        return path / "best"
    return path


def _is_instance(value: Any, hint: Any) -> bool:
    """A JSON value against a field's annotation (str, int, float, bool, list[str], dict[...], Optional)."""
    origin = getattr(hint, "__origin__", None)
    if hint is Any:
        return True
    if origin is None and hasattr(hint, "__args__"):  # X | None
        return any(_is_instance(value, arg) for arg in hint.__args__)
    if origin in (list, dict):
        if not isinstance(value, origin):
            return False
        item_hint = hint.__args__[-1]  # list[X] -> X; dict[str, X] -> X
        if origin is list:
            return all(_is_instance(item, item_hint) for item in value)
        return all(isinstance(k, str) and _is_instance(v, item_hint) for k, v in value.items())
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _check_field_types(path: Path, data: dict[str, Any]) -> None:
    hints = get_type_hints(CheckpointMetadata)
    for name, value in data.items():
        if not _is_instance(value, hints[name]):
            expected = getattr(hints[name], "__name__", None) or str(hints[name])
            raise CheckpointError(f"{path}: field {name!r} should be {expected}, got {quote(value)}")


def _check_values(path: Path, metadata: CheckpointMetadata) -> None:
    """Values the types allow but no khabar checkpoint has (a task, context or pooling khabar does not know)."""
    choices = {"task": ("ner", "topics"), "context": ("sentence", "packed"), "pooling": ("mean", "max")}
    for name, allowed in choices.items():
        if getattr(metadata, name) not in allowed:
            raise CheckpointError(
                f"{path}: {name} must be one of {', '.join(allowed)}, got {quote(getattr(metadata, name))}"
            )
    if not metadata.labels:
        raise CheckpointError(f"{path}: labels is empty")
    if metadata.max_length < 3 or metadata.stride < 0:
        raise CheckpointError(f"{path}: max_length {metadata.max_length} and stride {metadata.stride} are not usable")


def read_metadata(folder: str | Path, *, task: str | None = None) -> CheckpointMetadata:
    """Read and check `khabar.json`; a folder without it (or of another task) is a clear CheckpointError."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint folder not found: {folder}")
    path = folder / METADATA_FILE
    if not path.is_file():
        raise CheckpointError(
            f"{folder} has no {METADATA_FILE}: it is not a khabar checkpoint "
            "(train one with `khabar train ...`, or point at its best/ or last/ folder)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError) as error:
        raise CheckpointError(f"{path}: invalid JSON: {quote(str(error))}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object, got {type(data).__name__}")
    known = {f.name for f in dataclasses.fields(CheckpointMetadata)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise CheckpointError(f"{path}: unknown field(s) {', '.join(unknown)}; written by a newer khabar?")
    missing = sorted(
        f.name for f in dataclasses.fields(CheckpointMetadata)
        if f.name not in data and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
    if missing:
        raise CheckpointError(f"{path}: missing field(s) {', '.join(missing)}")
    _check_field_types(path, data)
    metadata = CheckpointMetadata(**data)
    _check_values(path, metadata)
    if task is not None and metadata.task != task:
        raise CheckpointError(f"{folder} is a {metadata.task!r} checkpoint, expected a {task!r} one")
    refusal = pickle_refusal(folder, "checkpoint folder")
    if refusal:
        raise CheckpointError(refusal)
    weights = (folder / "model.safetensors").is_file() or any(folder.glob("model-*.safetensors"))
    if not weights and not (folder / "model.onnx").is_file():  # an ONNX export (`khabar export --onnx`)
        raise CheckpointError(f"{folder} has no model.safetensors (only safetensors weights are read)")
    return metadata


def pickle_refusal(folder: Path, what: str) -> str | None:
    """Why `folder` is refused for holding pickle weights (naming the files), or None; nothing is opened."""
    names = sorted({p.name for pattern in PICKLE_PATTERNS for p in Path(folder).glob(pattern) if not p.is_dir()})
    if not names:
        return None
    shown = ", ".join(shorten(name, 80) for name in names[:3])
    if len(names) > 3:
        shown += f" and {len(names) - 3} more"
    return (
        f"{what} {folder} holds pickle weights ({shown}): khabar reads safetensors only and never opens a pickle, "
        "which can run code when loaded; delete it, or re-save the model with save_pretrained(folder)"
    )


def check_safetensors_files(folder: Path, error: type[KhabarError]) -> None:
    """Raise `error` naming the first `*.safetensors` in `folder` that is empty, cut short or not safetensors.

    Only the headers are read (safetensors checks that they cover the file exactly), so this is cheap; it turns
    what would be a SafetensorError traceback deep inside `from_pretrained` into one line naming the file.
    """
    from safetensors import SafetensorError, safe_open

    for path in sorted(Path(folder).glob("*.safetensors")):
        try:
            with safe_open(str(path), framework="pt"):
                pass
        except (SafetensorError, OSError) as problem:
            raise error(
                f"{path} is not a readable safetensors file ({shorten(str(problem), 120)}): it is damaged or cut "
                "short; copy it again, or re-save the model"
            ) from None


def file_fingerprint(paths: Iterable[str | Path]) -> str:
    """sha256 over the bytes of the given files, in order: identifies the exact training data."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def write_folder_atomically(destination: str | Path, fill: Callable[[Path], None]) -> Path:
    """Let `fill` write into a temporary sibling folder, then swap it into place.

    An interrupted or failing `fill` leaves the previous `destination` untouched and no half folder behind; what a
    killed writer left is removed here (`remove_stale_staging`). Folder and files get the modes the umask gives
    (0755 and 0644 under umask 022), so others can read a checkpoint.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(destination)
    staging = _make_staging(destination)
    try:
        fill(staging)
        _apply_umask_to_files(staging)
        if destination.exists():
            retired = destination.with_name(f".{destination.name}.old-{os.getpid()}")
            os.replace(destination, retired)
            os.replace(staging, destination)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    remove_stale_staging(destination)  # now also retired folders, which a missing destination kept
    return destination


def _make_staging(destination: Path) -> Path:
    """A new, empty `.NAME.tmp-PID-RANDOM` beside `destination`, created with the umask's mode like any folder.

    Why not `tempfile.mkdtemp`: its folder is private (0700), and a checkpoint is renamed into place as it is,
    so colleagues and serving users could not read it. The pid in the name tells a leftover from a live writer.
    """
    staging = destination.with_name(f".{destination.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    os.mkdir(staging)
    return staging


def _apply_umask_to_files(staging: Path) -> None:
    """Give every file under `staging` the mode `open()` would under this umask (0644 under umask 022).

    Why: safetensors writes its files 0600 whatever the umask, which would leave a checkpoint's weights readable
    by their owner only. The umask is read off the staging folder, which `os.mkdir` made under it, so the
    process umask is never changed (changing it would race with other threads).
    """
    folder_mode = stat.S_IMODE(staging.stat().st_mode)
    for root, _folders, files in os.walk(staging):
        for name in files:
            path = Path(root) / name
            if path.is_symlink():
                continue
            current = stat.S_IMODE(path.stat().st_mode)
            wanted = (folder_mode & 0o666) | (current & folder_mode & 0o111)
            if current != wanted:
                path.chmod(wanted)


def _writer_is_gone(leftover: Path) -> bool:
    """Whether the process that made a `.NAME.tmp-*` or `.NAME.old-*` folder can no longer be writing it.

    Names carry the writer's pid (`tmp-PID-RANDOM`, `old-PID`): gone when that process no longer exists, or when
    it is this process (its own interrupted attempt). Names without a pid (older khabar) count as gone when made
    before this process started.
    """
    pid_text = leftover.name.rsplit(".", 1)[-1].split("-")[1:2]
    if pid_text and pid_text[0].isdigit():
        pid = int(pid_text[0])
        if pid == os.getpid():
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except (PermissionError, OSError):
            return False  # alive, under another user
        return False
    try:
        return leftover.stat().st_mtime < _PROCESS_STARTED
    except OSError:
        return False


def remove_stale_staging(destination: str | Path) -> list[Path]:
    """Delete the staging folders a killed writer of `destination` left beside it; returns what was removed.

    Why: an interrupted `write_folder_atomically` of a large model (a SIGKILL, a lost node) leaves a hidden copy
    of the weights that nothing else would ever delete. A folder whose writer may still be running is kept, and
    a retired `.NAME.old-*` folder is kept while `destination` is missing, since it then holds the only copy.
    """
    destination = Path(destination)
    removed = []
    for pattern in (f".{destination.name}.tmp-*", f".{destination.name}.old-*"):
        for leftover in destination.parent.glob(pattern):
            if ".old-" in leftover.name and not destination.exists():
                continue
            if leftover.is_dir() and not leftover.is_symlink() and _writer_is_gone(leftover):
                shutil.rmtree(leftover, ignore_errors=True)
                removed.append(leftover)
    return removed


def link_folder_atomically(source: str | Path, destination: str | Path) -> Path:
    """Make `destination` an atomic copy of the flat folder `source`, hard-linking files where the disk allows.

    Why: when the newest checkpoint is also the best one, `last/` and `best/` hold the same bytes; links keep
    one copy on disk. Safe because checkpoint folders are only ever replaced whole, never edited in place.
    """
    source = Path(source)

    def fill(staging: Path) -> None:
        for item in source.iterdir():
            if not item.is_file():
                raise CheckpointError(f"{source}: expected a flat checkpoint folder, found {item.name}/")
            try:
                os.link(item, staging / item.name)
            except OSError:
                shutil.copy2(item, staging / item.name)

    return write_folder_atomically(destination, fill)
