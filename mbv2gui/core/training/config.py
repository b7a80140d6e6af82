"""A training's settings: `TrainConfig`, plain data saved with every run (config.json).

Apart from the engine (train.py) so that what only needs the settings (the Train view's form,
a run on disk in core/runs.py, quick retraining) does not import the engine, and runs.py and
train.py no longer import each other.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass


# The input sizes offered (the Train form's "Image size", the preflight's suggestion).
INPUT_SIZES = (32, 64, 96, 128, 160, 192, 224)
# The smallest size the app ever suggests, even for smaller pictures: MobileNetV2 shrinks an
# image 32-fold, so a 32 px input leaves it one pixel of features. From scratch on cifar10-5k's
# 32 px photos (1,000 held out, bench/bench_scratch_recipe.py): 37% at 32 px, 58% at 64 px
# (with 2.25x the epochs, the same computing), 59% at 96 px.
SMALLEST_SUGGESTED_SIZE = 96
# The augmentation switches (TrainConfig fields), in the order the Train form shows them.
AUGMENTATIONS = ("augment_flip", "augment_rotation", "augment_shift", "augment_zoom")


@dataclass
class TrainConfig:
    image_size: int = 96
    alpha: float = 0.35
    weights: str = "auto"  # 'auto' | 'imagenet' | 'none' | a weights file, .keras or run folder
    epochs: int | None = None  # None: 30 for the head, more from scratch (scratch_recipe.py)
    # Seconds the training may take: its epochs and schedule are sized to fit from the measured
    # speed (core/training/budget.py); `epochs`, when also given, is then the most it runs.
    time_budget_s: float | None = None
    fine_tune_epochs: int = 0
    fine_tune_blocks: int = 3
    # None: 1e-3 head, 1e-4 fine-tune; from scratch the optimizer's (core/training/scratch_recipe.py)
    learning_rate: float | None = None
    # "sgd" (Nesterov momentum) or "adam". None: SGD from scratch, Adam on pretrained weights.
    optimizer: str | None = None
    batch_size: int = 32
    val_split: float = 0.2
    seed: int = 0
    dropout: float = 0.2
    l2: float = 1e-4
    # Flips and shifts, no rotations or zooms: MobileNetV2 alpha 0.35 from scratch has little
    # capacity to spare. On cifar10-5k (seed 1, 1,000 held-out photos) flips and shifts only
    # scored 62.5% against 58.5% with all four (Adam), 68.3% against 63.1% with SGD.
    augment_flip: bool = True
    augment_rotation: bool = False
    augment_shift: bool = True
    augment_zoom: bool = False
    class_weights: bool = True
    # None: 10 head, 5 fine-tune; none from scratch, whose schedule is fixed in advance and
    # ends on its last epoch's weights (no epoch picked on the validation images).
    early_stopping_patience: int | None = None
    # Share of a true label's probability spread over the others (Szegedy et al. 2016).
    # None: 0.1 from scratch, none on pretrained features.
    label_smoothing: float | None = None
    # Decoupled weight decay (Loshchilov & Hutter) on the kernels, not on BatchNorm or biases.
    # None: the optimizer's from scratch, none on pretrained features (the head has its `l2`).
    weight_decay: float | None = None
    bn_momentum: float = 0.9  # not Keras' 0.999: see core/training/model.py
    teacher_path: str | None = None
    distill_temperature: float = 4.0
    distill_alpha: float = 0.3  # weight of the true labels; the teacher gets 1 - distill_alpha

    def __post_init__(self):
        # A weights or teacher file may be given as a Path; the config must stay JSON.
        self.weights = os.fspath(self.weights) if self.weights is not None else "auto"
        if self.teacher_path is not None:
            self.teacher_path = os.fspath(self.teacher_path)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})
