"""The topic predictor: whole documents to label probabilities (window logits pooled) and chosen labels.

The one way khabar predicts topics: the Analyzer, topic evaluation and training's dev/test evaluation call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from khabar.checkpoint import probability_function
from khabar.features import TokenWindow, WordTokenizer, text_windows
from khabar.inference.decoding import chosen_topics, decide_topics
from khabar.inference.document import Topic
from khabar.inference.forward import ForwardOptions, pool_windows, to_probabilities
from khabar.inference.loading import LoadedCheckpoint

__all__ = ["TopicPredictor"]


@dataclass
class TopicPredictor(ForwardOptions):
    """Encode every window of every document, pool window logits per document, turn them into probabilities.

    `thresholds` (multi-label, one per label) decide which labels a document gets; None means single-label
    (argmax). `max_windows` reads only each document's first windows (an ablation; None reads all).
    """

    model: torch.nn.Module
    tokenizer: WordTokenizer
    labels: Sequence[str]
    stride: int
    pooling: str
    thresholds: Sequence[float] | None
    max_windows: int | None = None

    @classmethod
    def from_checkpoint(cls, checkpoint: LoadedCheckpoint, **options: object) -> TopicPredictor:
        """A predictor with the checkpoint's stride, pooling and (multi-label) thresholds."""
        metadata = checkpoint.metadata
        thresholds = metadata.threshold_list() if metadata.multi_label else None
        return cls(
            checkpoint.model, checkpoint.word_tokenizer, list(checkpoint.labels), metadata.stride, metadata.pooling,
            thresholds, device=checkpoint.device, **options,  # type: ignore[arg-type]
        )

    @property
    def multi_label(self) -> bool:
        return self.thresholds is not None

    def logits(self, texts: Sequence[str]) -> torch.Tensor:
        """Document logits [documents, labels]: window logits pooled (mean or max) as in training."""
        windows: list[TokenWindow] = []
        for index, text in enumerate(texts):
            ids = self.tokenizer.encode_text(text)
            windows.extend(text_windows(index, ids, self.tokenizer, self.stride, self.max_windows))
        logits = self.forward(self.model, windows, self.tokenizer.pad_id) if windows else []
        stacked = torch.stack(logits) if logits else torch.zeros((0, len(self.labels)))
        owners = torch.tensor([w.example for w in windows], dtype=torch.long)
        return pool_windows(stacked, owners, len(texts), self.pooling)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """[documents, labels]: sigmoid per label (multi-label) or softmax over labels."""
        return to_probabilities(self.logits(texts), probability_function(self.multi_label)).numpy()

    def decide(self, probabilities: np.ndarray) -> np.ndarray:
        """0/1 decisions [documents, labels] with this predictor's thresholds (or argmax)."""
        return decide_topics(probabilities, self.thresholds)

    def topics(self, texts: Sequence[str]) -> list[tuple[tuple[Topic, ...], dict[str, float]]]:
        """Per document: the chosen topics, most probable first, and every label's probability."""
        probabilities = self.probabilities(texts)
        decisions = self.decide(probabilities)  # one decision over the whole batch
        return [
            chosen_topics(row, chosen, self.labels)
            for row, chosen in zip(probabilities.tolist(), decisions.tolist(), strict=True)
        ]
