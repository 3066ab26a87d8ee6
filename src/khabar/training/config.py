"""Experiment configs: YAML <-> typed dataclasses, with env-var paths, dotted overrides and strict validation."""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml

from khabar.backbones import DEFAULT_BACKBONE
from khabar.errors import ConfigError, quote

__all__ = [
    "DataConfig",
    "ExperimentConfig",
    "ModelConfig",
    "TrainingConfig",
    "apply_overrides",
    "load_config",
    "packaged_config_names",
    "resolve_config",
    "save_config",
]

Task = Literal["ner", "topics"]


@dataclass
class DataConfig:
    """Where the examples come from; paths may use ${ENV_VARS}.

    train/dev/test are files (CoNLL, span or token JSONL, topic JSONL/CSV, parquet), `datasets` save_to_disk
    folders (`FOLDER@SPLIT` for a DatasetDict) or `hf:NAME[:CONFIG]@SPLIT`; see `khabar.data.hf_inputs`.
    """

    train: str
    dev: str | None = None
    test: str | None = None
    # NER: auto tells CoNLL, span JSONL and `datasets` rows (folders, parquet, hf:, token JSONL) apart.
    format: Literal["auto", "conll", "spans", "datasets", "topics"] = "auto"
    dev_fraction: float = 0.1
    dev_seed: int = 13
    # random: a seeded sample of train; tail: the last part of train (whole unseen articles, in order).
    dev_selection: Literal["random", "tail"] = "random"
    max_train_examples: int | None = None
    max_eval_examples: int | None = None
    labels: list[str] | None = None
    text_column: str | None = None
    label_column: str | None = None
    # NER rows read through `datasets`: None tries tokens then words, and ner_tags then tags.
    tokens_column: str | None = None
    tags_column: str | None = None
    multi_label: bool | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.dev_fraction < 1.0:
            raise ConfigError(f"data.dev_fraction must be in [0, 1), got {self.dev_fraction}")
        for name in ("max_train_examples", "max_eval_examples"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"data.{name} must be >= 1, got {value}")


@dataclass
class ModelConfig:
    """The encoder, how text becomes its input, and the task head."""

    backbone: str = DEFAULT_BACKBONE
    max_length: int = 256
    stride: int = 32
    label_all_subtokens: bool = False
    # NER window context: each sentence alone, or consecutive sentences packed up to max_length (more context).
    context: Literal["sentence", "packed"] = "sentence"
    normalization: dict[str, bool] = field(default_factory=dict)
    dropout: float | None = None
    # Attention-probability dropout; None keeps `dropout` (or the backbone's own). 0.0 lets PyTorch's fused
    # scaled-dot-product attention run in training: on CPU, attention dropout forces the unfused path, whose
    # forward pass is about 2.5x slower on 256-token windows.
    attention_dropout: float | None = None
    # The attention kernel in training (transformers' `attn_implementation`); None keeps transformers' default
    # (`sdpa`). On CPU with bf16 autocast, `eager` takes 0.73 s for a 4 x 256-token NER step where `sdpa` takes
    # 0.93 s: PyTorch's fused CPU attention has a slow bf16 backward pass. Not saved in checkpoints.
    attn_implementation: Literal["eager", "sdpa"] | None = None
    # Topics: how window logits become an article's logits (mean or max over windows) ...
    pooling: Literal["mean", "max"] = "mean"
    # ... and what the classifier reads inside a window: the masked mean of the last layer (BERT-architecture
    # backbones; `khabar.modeling`) or the first token through the architecture's own head (any encoder).
    classifier_pooling: Literal["mean", "cls"] = "mean"
    max_windows: int | None = None

    @property
    def packs_sentences(self) -> bool:
        """NER: whether consecutive sentences share windows (as `CheckpointMetadata.packs_sentences` records)."""
        return self.context == "packed"

    def __post_init__(self) -> None:
        if not 16 <= self.max_length <= 8192:
            raise ConfigError(f"model.max_length must be in [16, 8192], got {self.max_length}")
        if not 0 <= self.stride < self.max_length // 2:
            raise ConfigError(
                f"model.stride must be in [0, max_length/2) = [0, {self.max_length // 2}), got {self.stride}"
            )
        for name in ("dropout", "attention_dropout"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value < 1.0:
                raise ConfigError(f"model.{name} must be in [0, 1), got {value}")
        if self.max_windows is not None and self.max_windows < 1:
            raise ConfigError(f"model.max_windows must be >= 1, got {self.max_windows}")
        from khabar.text import NormalizationConfig

        NormalizationConfig.from_dict(self.normalization)  # validates the keys and values early


@dataclass
class TrainingConfig:
    """Optimisation and bookkeeping; the defaults are a sensible start for a base-size encoder."""

    seed: int = 42
    epochs: int = 3
    max_steps: int | None = None
    batch_size: int = 16
    eval_batch_size: int = 64
    learning_rate: float = 5e-5
    head_learning_rate: float | None = None
    # Layer-wise learning-rate decay: layer k below the top trains at learning_rate * decay**k (1.0: off).
    layer_lr_decay: float = 1.0
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    scheduler: Literal["linear", "cosine", "constant_with_warmup"] = "linear"
    max_grad_norm: float = 1.0
    gradient_accumulation_steps: int = 1
    # auto: bf16 autocast where the device multiplies bf16 natively (CUDA with bf16, CPUs with AMX; see
    # `khabar.hardware`), fp32 elsewhere. fp32 (or `no`), bf16 and fp16 force one; null leaves it to
    # `accelerate launch` or its config file. The run's config.yaml and model card record the resolved value.
    mixed_precision: Literal["auto", "fp32", "no", "fp16", "bf16"] | None = "auto"
    freeze_word_embeddings: bool = False
    # Freeze the embeddings and the lowest N encoder layers: backward stops above them (faster, less memory).
    freeze_layers: int = 0
    # Split a batch whose padded windows would exceed this many tokens (long articles); null: no limit.
    max_batch_tokens: int | None = None
    group_by_length: bool = True
    eval_every_steps: int | None = None
    early_stopping_patience: int | None = None
    log_every_steps: int = 20
    num_threads: int | None = None

    def __post_init__(self) -> None:
        positive = ("epochs", "batch_size", "eval_batch_size", "gradient_accumulation_steps", "log_every_steps")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"training.{name} must be >= 1, got {getattr(self, name)}")
        if self.freeze_layers < 0:
            raise ConfigError(f"training.freeze_layers must be >= 0, got {self.freeze_layers}")
        for name in ("max_steps", "eval_every_steps", "early_stopping_patience", "num_threads", "max_batch_tokens"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"training.{name} must be >= 1 or null, got {value}")
        if self.learning_rate <= 0 or (self.head_learning_rate is not None and self.head_learning_rate <= 0):
            raise ConfigError("training.learning_rate and training.head_learning_rate must be > 0")
        if not 0.0 < self.layer_lr_decay <= 1.0:
            raise ConfigError(f"training.layer_lr_decay must be in (0, 1], got {self.layer_lr_decay}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ConfigError(f"training.warmup_ratio must be in [0, 1), got {self.warmup_ratio}")


@dataclass
class ExperimentConfig:
    """One experiment: a task, its data, model and training settings, and where the run goes."""

    task: Task
    data: DataConfig
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    output_dir: str = "runs/experiment"

    def __post_init__(self) -> None:
        if self.data.dev is None and self.data.dev_fraction == 0 and self.training.early_stopping_patience:
            raise ConfigError("training.early_stopping_patience needs a dev split (data.dev or data.dev_fraction > 0)")

    @property
    def has_dev(self) -> bool:
        """False when training on all of train with no dev split: the last epoch is then the kept model."""
        return self.data.dev is not None or self.data.dev_fraction > 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class ConfigLoader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false. YAML 1.1 also reads yes/no/on/off as booleans, which turned
    `mixed_precision: no` into False; here they stay strings, and boolean settings still accept them."""


ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
YAML11_BOOLEANS = {"yes": True, "on": True, "no": False, "off": False}


def _yaml_problem(error: yaml.YAMLError) -> str:
    """PyYAML's several-line message as one line: what is wrong, and where (line and column, 1-based)."""
    if isinstance(error, yaml.MarkedYAMLError):
        problem = error.problem or error.context or "invalid YAML"
        mark = error.problem_mark or error.context_mark
        if mark is not None:
            problem = f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
        return problem
    return " ".join(str(error).split())


def parse_yaml(text: str, where: str = "<yaml>") -> Any:
    """Parse config text with `ConfigLoader` (the one YAML dialect of config files and `--set` values).

    Anything the text cannot become is a ConfigError naming `where`: invalid YAML, nesting too deep for the
    parser, or a value Python refuses to build (an integer of more than 4300 digits).
    """
    try:
        return yaml.load(text, Loader=ConfigLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as error:
        raise ConfigError(f"{where}: invalid YAML: {_yaml_problem(error)}") from None
    except RecursionError:
        raise ConfigError(f"{where}: invalid YAML: nested too deeply") from None
    except ValueError as error:  # int() of a 5,000-digit number
        raise ConfigError(f"{where}: invalid YAML value: {quote(str(error))}") from None


# Configs name the sample shipped inside the package as ${KHABAR_SAMPLE_DIR}/ner.conll; it needs no setting.
SAMPLE_DIR_VARIABLE = "KHABAR_SAMPLE_DIR"
_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand_env(value: str, where: str) -> str:
    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == SAMPLE_DIR_VARIABLE and name not in os.environ:
            from khabar.data.bundled import sample_path

            return str(sample_path("ner.conll").parent)
        if name not in os.environ:
            raise ConfigError(f"{where}: environment variable ${{{name}}} is not set")
        return os.environ[name]

    return os.path.expanduser(_ENV_PATTERN.sub(substitute, value))


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    """Check `value` against a type annotation, converting only where it is lossless (int -> float)."""
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = get_args(annotation)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(value, option, where)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0] if errors else f"{where}: invalid value {quote(value)}")
    if origin is Literal:
        allowed = get_args(annotation)
        if value not in allowed:
            raise ConfigError(f"{where}: {quote(value)} is not one of {', '.join(map(repr, allowed))}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {quote(value)}")
        (item_type,) = get_args(annotation)
        return [_coerce(item, item_type, f"{where}[{i}]") for i, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {quote(value)}")
        key_type, item_type = get_args(annotation)
        return {_coerce(k, key_type, where): _coerce(v, item_type, f"{where}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(annotation):
        return _build(annotation, value, where)
    if annotation is bool:
        if isinstance(value, str) and value.lower() in YAML11_BOOLEANS:
            return YAML11_BOOLEANS[value.lower()]
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {quote(value)}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {quote(value)}")
        return value
    if annotation is float:
        if isinstance(value, str):
            try:
                return float(value)  # YAML 1.1 reads `5e-5` as a string
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {quote(value)}")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {quote(value)}")
        return _expand_env(value, where)
    raise ConfigError(f"{where}: unsupported type {annotation!r}")


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {quote(data)}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if not isinstance(key, str):
            raise ConfigError(
                f"{where}: key {quote(key)} is {type(key).__name__}, not a name "
                f"(known keys: {', '.join(sorted(known))})"
            )
    unknown = sorted(set(data) - known)
    if unknown:
        shown = ", ".join(key if len(key) <= 60 else quote(key, 60) for key in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise ConfigError(f"{where}: unknown key(s) {shown}{more} (known: {', '.join(sorted(known))})")
    missing = [
        f.name
        for f in dataclasses.fields(cls)
        if f.name not in data
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{where}: missing required key(s) {', '.join(missing)}")
    values = {name: _coerce(value, hints[name], f"{where}.{name}") for name, value in data.items()}
    try:
        return cls(**values)
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `section.key=value` overrides (values parsed as YAML) to a raw config mapping."""
    for override in overrides:
        if "=" not in override:
            raise ConfigError(f"override {quote(override)} must look like section.key=value")
        dotted, raw = override.split("=", 1)
        keys = dotted.strip().split(".")
        target = data
        for key in keys[:-1]:
            target = target.setdefault(key, {})
            if not isinstance(target, dict):
                raise ConfigError(f"override {quote(override)}: {quote(key)} is not a section")
        target[keys[-1]] = parse_yaml(raw, f"override {quote(override)}") if raw.strip() else None
    return data


# The experiment configs shipped in the package (khabar installs as plain files, never as a zip).
PACKAGED_CONFIGS = Path(__file__).resolve().parents[1] / "configs"
_PACKAGED_KINDS = ("ner", "topics")
_CONFIG_SUFFIXES = (".yaml", ".yml")


def packaged_config_names() -> list[str]:
    """The names `--config` accepts besides paths (`ner/tiny`, `topics/news-topics-offline`, ...)."""
    files = (file for kind in _PACKAGED_KINDS for file in (PACKAGED_CONFIGS / kind).glob("*.yaml"))
    return sorted(f"{file.parent.name}/{file.stem}" for file in files)


def resolve_config(value: str | Path) -> Path:
    """The config file `value` means: an existing path, or any value with a YAML suffix, is a path; anything else
    names a packaged config, so `--config ner/tiny` works from an installed wheel in any folder."""
    path = Path(value)
    if path.exists() or path.suffix.lower() in _CONFIG_SUFFIXES:
        return path
    names = packaged_config_names()
    if str(value) in names:
        return PACKAGED_CONFIGS / f"{value}.yaml"
    raise ConfigError(
        f"config {quote(str(value))} is neither a file nor a packaged config; packaged configs: {', '.join(names)}"
        " (or give the path of a .yaml file)"
    )


def _packaged_hint(path: Path) -> str:
    """For a missing `configs/ner/tiny.yaml` (the old source-tree location), point at the packaged `ner/tiny`."""
    name = f"{path.parent.name}/{path.stem}"
    return f" (the packaged config is --config {name})" if name in packaged_config_names() else ""


def _read_config_text(path: Path) -> str:
    """The file's text; a missing, unreadable or non-UTF-8 file is a ConfigError naming it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}{_packaged_hint(path)}") from None
    except IsADirectoryError:
        raise ConfigError(f"config {path} is a folder; give a YAML file or a packaged name such as ner/tiny") from None
    except OSError as error:
        raise ConfigError(f"config {path} cannot be read: {error.strerror or error}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}:{line}: not valid UTF-8 (byte {data[error.start]:#04x} at offset {error.start}); "
            "save the config as UTF-8"
        ) from None


def load_config(
    path: str | Path, overrides: list[str] | None = None, *, output_dir: str | None = None
) -> ExperimentConfig:
    """Read a YAML experiment file (a path or a packaged name), apply overrides, validate; errors name the file
    and the key."""
    path = resolve_config(path)
    data = parse_yaml(_read_config_text(path), str(path))
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    data = apply_overrides(data, list(overrides or []))
    if output_dir is not None:
        data["output_dir"] = output_dir
    try:
        return _build(ExperimentConfig, data, "config")
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def save_config(config: ExperimentConfig, path: str | Path) -> None:
    """Write the resolved config (env vars expanded, overrides applied) as YAML."""
    Path(path).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8")
