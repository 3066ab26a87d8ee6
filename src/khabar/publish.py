"""`khabar push`: upload a checkpoint folder (weights, config, tokenizer, card, licence terms) to the Hub.

The folder is checked first, as loading would check it (khabar.json, safetensors only), so that what lands on the
Hub is what khabar and plain transformers load. Every way the upload can fail (offline, no token, a bad repo id,
a refused request) is one KhabarError.
"""

from __future__ import annotations

from pathlib import Path

from khabar.checkpoint import check_safetensors_files, read_metadata, resolve_checkpoint_folder
from khabar.errors import CheckpointError, KhabarError, quote
from khabar.hub import hub_offline

__all__ = ["PushError", "files_to_push", "push_checkpoint"]


class PushError(KhabarError):
    """The checkpoint could not be uploaded (offline, no credentials, a refused or failed request)."""


def files_to_push(folder: str | Path) -> list[str]:
    """The checkpoint's files, by name: everything in the flat folder except hidden (staging) entries."""
    return sorted(item.name for item in Path(folder).iterdir() if item.is_file() and not item.name.startswith("."))


def push_checkpoint(
    folder: str | Path, repo_id: str, *, private: bool = False, token: str | None = None,
    commit_message: str = "Upload khabar checkpoint",
) -> str:
    """Create `repo_id` if needed and upload the checkpoint folder (or a run folder's best/); returns its URL."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    path = resolve_checkpoint_folder(folder)
    read_metadata(path)
    check_safetensors_files(path, CheckpointError)
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise PushError(f"--repo-id {quote(repo_id)} is not a Hub repository id like 'user/name': {error}") from None
    if hub_offline():
        raise PushError("cannot push: the Hugging Face Hub is offline here (HF_HUB_OFFLINE is set); unset it on a "
                        "machine that can reach the Hub")
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        info = api.upload_folder(folder_path=str(path), repo_id=repo_id, repo_type="model",
                                 allow_patterns=files_to_push(path), commit_message=commit_message)
    except Exception as error:  # the network boundary: HTTP, connection, credentials, quota
        raise PushError(f"cannot push {path} to {repo_id}: {type(error).__name__}: {quote(str(error))}") from None
    return str(getattr(info, "repo_url", f"https://huggingface.co/{repo_id}"))
