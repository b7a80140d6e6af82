"""The from-scratch recipe: what a training from random weights does with its settings left on
"automatic" (the schedule's length, the optimizer, its learning rate and weight decay, label
smoothing). Each choice was measured on photos neither model trained on by
bench/bench_scratch_recipe.py (cifar10-5k: 3,200 training photos, 1,000 held out; sign-digits-
mini: 120 and 50); the README has the figures. Pretrained trainings (head, fine-tune) keep Adam
and no smoothing or decay: see core/training/train.py.

No TensorFlow here: `build_optimizer` takes the keras module.
"""

from __future__ import annotations

from dataclasses import dataclass

# At least 50 epochs, about 8,000 images seen on small sets, at most 150. 50 epochs on the 80%
# of the images the app trains on see as many images as the careful hand recipe's 40 on all.
MIN_EPOCHS, MAX_EPOCHS, IMAGES_SEEN = 50, 150, 8000
# Share of a true label's probability spread over the others (Szegedy et al. 2016).
LABEL_SMOOTHING = 0.1
# Adam's peak learning rate for a schedule under this many steps (see OptimizerRecipe).
SHORT_SCHEDULE_STEPS = 1000
# The batch size every rate below was measured with (see scratch_learning_rate).
MEASURED_BATCH = 32


@dataclass(frozen=True)
class OptimizerRecipe:
    learning_rate: float  # the peak of the warm-up + cosine schedule
    short_schedule_learning_rate: float  # the peak under SHORT_SCHEDULE_STEPS steps
    # Keras' decoupled weight decay: every step shrinks the kernels by learning rate × this
    # (Loshchilov & Hutter); BatchNorm's scale and shift and the biases are left alone.
    weight_decay: float
    # The rate shrinks with batches under MEASURED_BATCH (see scratch_learning_rate)
    scales_with_batch: bool


OPTIMIZERS = {
    # SGD with Nesterov momentum 0.9: on cifar10-5k (seed 1) 63.1% against Adam's 58.5% with
    # the same schedule, augmentation and decay per step of the same order; on
    # sign-digits-mini 0.05 also suits the short schedule.
    "sgd": OptimizerRecipe(5e-2, 5e-2, 5e-3, scales_with_batch=True),
    # Adam (AdamW with the decay): 2e-3 as the hand recipe, 5e-3 for short schedules (on
    # sign-digits-mini, 268 steps: 90% against 81% with 2e-3, 3 seeds). Adam sizes its own
    # steps by the gradients' size, so its rates stand as measured at any batch size.
    "adam": OptimizerRecipe(2e-3, 5e-3, 5e-2, scales_with_batch=False),
}
SCRATCH_OPTIMIZER = "sgd"


def scratch_epochs(train_images: int) -> int:
    """The fixed schedule's length for `train_images` (67 epochs for 120 images)."""
    return int(min(MAX_EPOCHS, max(MIN_EPOCHS, round(IMAGES_SEEN / max(1, train_images)))))


def optimizer_recipe(name: str) -> OptimizerRecipe:
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name]


def scratch_learning_rate(total_steps: int, optimizer: str = SCRATCH_OPTIMIZER,
                          batch_size: int = MEASURED_BATCH) -> float:
    """The peak rate. Where the optimizer `scales_with_batch` (SGD), a batch smaller than the
    one the rates were measured with gets a proportionally smaller rate (its gradients are
    noisier; Goyal et al. 2017): 0.05 on batches of 6 sent a test model's weights to NaN.
    Larger batches keep the measured rate."""
    recipe = optimizer_recipe(optimizer)
    rate = recipe.short_schedule_learning_rate if total_steps < SHORT_SCHEDULE_STEPS else \
        recipe.learning_rate
    return rate * min(1.0, batch_size / MEASURED_BATCH) if recipe.scales_with_batch else rate


def build_optimizer(keras, name: str, schedule, weight_decay: float):
    """The optimizer `name` on `schedule`, its decay on kernels only (decaying BatchNorm's
    scale and shift only hurts)."""
    optimizer_recipe(name)  # an unknown name is refused, not silently Adam
    if name == "sgd":
        optimizer = keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True,
                                         weight_decay=weight_decay or None)
    else:
        optimizer = keras.optimizers.Adam(schedule, weight_decay=weight_decay or None)
    if weight_decay:
        optimizer.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])
    return optimizer
