"""Fine-tuning: typed configs, the shared accelerate loop, task definitions, resume state."""

from khabar.training.callbacks import TrainingCallback
from khabar.training.config import (
    DataConfig,
    ExperimentConfig,
    ModelConfig,
    TrainingConfig,
    apply_overrides,
    load_config,
    save_config,
)
from khabar.training.run import TrainingResult, train

__all__ = [
    "DataConfig",
    "ExperimentConfig",
    "ModelConfig",
    "TrainingCallback",
    "TrainingConfig",
    "TrainingResult",
    "apply_overrides",
    "load_config",
    "save_config",
    "train",
]
