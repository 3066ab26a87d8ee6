"""Arabic normalisation with an exact map from every output character back to the original text (`offsets`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from functools import lru_cache

from khabar.errors import ConfigError, UsageError, UsageTypeError, quote

__all__ = [
    "ARABIC_MARKS",
    "FORMAT_MARKS",
    "NormalizationConfig",
    "NormalizedText",
    "normalize",
    "normalize_word",
]

# Harakat, shadda, sukun, tanwin (U+064B-U+0652), Quranic marks and madda/hamza marks (U+0653-U+065F)
# and superscript alef (U+0670): CAMeLBERT was pretrained with these stripped.
ARABIC_MARKS: frozenset[str] = frozenset([*map(chr, range(0x064B, 0x0660)), "\u0670"])
TATWEEL = "\u0640"

# Invisible direction and joining controls that news sites sprinkle into text; they carry no meaning for a
# model and are word separators for khabar.text.segment.
FORMAT_MARKS: frozenset[str] = frozenset(
    [
        "\u200e",  # LEFT-TO-RIGHT MARK
        "\u200f",  # RIGHT-TO-LEFT MARK
        "\u061c",  # ARABIC LETTER MARK
        *map(chr, range(0x200B, 0x200E)),  # ZERO WIDTH SPACE, ZERO WIDTH NON-JOINER, ZERO WIDTH JOINER
        "\ufeff",  # ZERO WIDTH NO-BREAK SPACE / byte-order mark
        *map(chr, range(0x202A, 0x202F)),  # bidi embeddings and overrides
        *map(chr, range(0x2066, 0x206A)),  # bidi isolates
    ]
)

_ALEF_VARIANTS = {"\u0623": "\u0627", "\u0625": "\u0627", "\u0622": "\u0627", "\u0671": "\u0627"}
_YA_VARIANTS = {"\u0649": "\u064a"}
_TA_MARBUTA_VARIANTS = {"\u0629": "\u0647"}


@dataclass(frozen=True)
class NormalizationConfig:
    """Which normalisations to apply; stored in a checkpoint so inference normalises exactly as training did.

    The defaults match CAMeLBERT's pretraining text: no diacritics, no tatweel, no invisible marks.
    """

    remove_diacritics: bool = True
    remove_tatweel: bool = True
    remove_format_marks: bool = True
    unify_alef: bool = False
    unify_ya: bool = False
    unify_ta_marbuta: bool = False

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, bool):
                raise ConfigError(
                    f"normalization.{field.name} must be true or false, got {quote(value)} "
                    f"({type(value).__name__})"
                )

    def to_dict(self) -> dict[str, bool]:
        """Plain dict for JSON/YAML (the checkpoint's record of how text was normalised)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> NormalizationConfig:
        """Build from a config mapping; missing keys take defaults, unknown keys are errors (likely typos).

        >>> NormalizationConfig.from_dict({"unify_alef": True}).unify_alef
        True
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"normalization config must be a mapping, got {type(data).__name__}")
        known = [field.name for field in fields(cls)]
        unknown = sorted(str(key) for key in data if key not in known)
        if unknown:
            raise ConfigError(
                f"unknown normalization key(s) {', '.join(unknown)}; known keys are {', '.join(known)}"
            )
        return cls(**data)  # type: ignore[arg-type]  # __post_init__ rejects non-bool values


@dataclass(frozen=True)
class NormalizedText:
    """A normalised string plus, for each of its characters, the index of the original character it came from.

    Normalisation only replaces or deletes single characters, so `offsets` is strictly increasing and spans
    found in `text` (entities, words) map back to `original` exactly.
    """

    original: str
    text: str
    offsets: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.offsets) != len(self.text):
            raise UsageError(
                f"offsets has {len(self.offsets)} entries but text has {len(self.text)} characters; "
                "build NormalizedText with normalize()"
            )


@lru_cache(maxsize=64)
def _table(config: NormalizationConfig) -> dict[str, str | None]:
    """Per-character replacement table: None deletes the character."""
    table: dict[str, str | None] = {}
    if config.remove_diacritics:
        table.update(dict.fromkeys(ARABIC_MARKS))
    if config.remove_tatweel:
        table[TATWEEL] = None
    if config.remove_format_marks:
        table.update(dict.fromkeys(FORMAT_MARKS))
    if config.unify_alef:
        table.update(_ALEF_VARIANTS)
    if config.unify_ya:
        table.update(_YA_VARIANTS)
    if config.unify_ta_marbuta:
        table.update(_TA_MARBUTA_VARIANTS)
    return table


def normalize(text: str, config: NormalizationConfig | None = None) -> NormalizedText:
    """Normalise `text` per `config` (defaults: see NormalizationConfig), keeping the map to original offsets.

    >>> norm = normalize("الصيـــن\u200f")
    >>> norm.text, norm.offsets
    ('الصين', (0, 1, 2, 3, 7))
    """
    if not isinstance(text, str):
        raise UsageTypeError(
            f"normalize() takes a str, got {type(text).__name__}; decode bytes with .decode('utf-8')"
        )
    if config is None:
        config = NormalizationConfig()
    elif not isinstance(config, NormalizationConfig):
        raise UsageTypeError(
            f"config must be a NormalizationConfig, got {type(config).__name__}; "
            "use NormalizationConfig.from_dict() for a mapping"
        )
    table = _table(config)
    chars: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        replacement = table.get(char, char)
        if replacement is not None:
            chars.append(replacement)
            offsets.append(index)
    return NormalizedText(original=text, text="".join(chars), offsets=tuple(offsets))


def normalize_word(word: str, config: NormalizationConfig | None = None) -> str:
    """Normalised form of one word, for lookups (gazetteers, vocabularies) where offsets are not needed."""
    return normalize(word, config).text
