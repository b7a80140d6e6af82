"""The from-scratch recipe's mechanics: the schedule's length, the learning rate, label
smoothing, and which epoch's weights a phase ends on. (Its accuracy is measured by
bench/bench_scratch_recipe.py, never asserted here.)"""

from __future__ import annotations

import numpy as np
import pytest

from mbv2gui.core.training.config import TrainConfig
from mbv2gui.core.training.loop import HISTORY_KEYS, EpochLoop
from mbv2gui.core.training.scratch_recipe import (LABEL_SMOOTHING, OPTIMIZERS,
                                                  build_optimizer, scratch_epochs,
                                                  scratch_learning_rate)
from mbv2gui.core.training.train import _Session


@pytest.mark.parametrize("images, epochs", [(10, 150), (120, 67), (160, 50), (3200, 50),
                                            (50000, 50)])
def test_the_scratch_schedule_sees_enough_images_and_at_least_50_epochs(images, epochs):
    assert scratch_epochs(images) == epochs


def test_adam_peaks_higher_on_a_short_schedule_and_sgd_far_higher_on_any():
    """120 images for 67 epochs are 268 steps of 32: too few for Adam to get far at 2e-3."""
    assert scratch_learning_rate(67 * 4, "adam") == 5e-3
    assert scratch_learning_rate(50 * 100, "adam") == 2e-3
    assert scratch_learning_rate(67 * 4, "sgd") == scratch_learning_rate(50 * 100, "sgd") == 0.05
    # With SGD, batches smaller than the measured 32 get a proportionally smaller rate.
    assert scratch_learning_rate(50 * 100, "sgd", batch_size=8) == pytest.approx(0.0125)
    assert scratch_learning_rate(50 * 100, "sgd", batch_size=128) == 0.05
    assert scratch_learning_rate(50 * 100, "adam", batch_size=8) == 2e-3
    with pytest.raises(ValueError, match="unknown optimizer"):
        scratch_learning_rate(100, "adagrad")


class CountingModel:
    """A model whose weights are the number of training steps taken so far."""

    def __init__(self):
        self.steps = 0

    def get_weights(self):
        return [self.steps]

    def set_weights(self, weights):
        self.steps = weights[0]


class ScriptedSession:
    """What the loop asks of a training session; validation follows a script."""

    def __init__(self, val_accuracies, patience, stop_after_steps=None):
        self.history = {key: [] for key in HISTORY_KEYS}
        self.epoch_offset, self.best_row, self.best_score = 0, None, None
        self.stopped_by_user, self.early_stopped, self.early_stop = False, False, None
        self.script, self._patience = list(val_accuracies), patience
        self.stop_after_steps, self.model = stop_after_steps, None

    def should_stop(self):
        return self.stop_after_steps is not None and self.model.steps >= self.stop_after_steps

    def throttle(self, event):
        pass

    def report(self, event):
        pass

    def patience(self, phase):
        return self._patience

    def validate(self):
        return 1.0 - self.script[0], self.script.pop(0)


def run_loop(val_accuracies, patience, stop_after_steps=None):
    """Runs len(val_accuracies) epochs of one step each; returns (session, model)."""
    session = ScriptedSession(val_accuracies, patience, stop_after_steps)
    model = session.model = CountingModel()

    def step(x, y, w):
        model.steps += 1
        return 0.5, 0.5

    EpochLoop(session, "scratch", model, len(val_accuracies), 1).run(
        lambda epoch: [(0, [0], 0)], step, lambda: 1e-3)
    return session, model


def test_a_fixed_schedule_ends_on_its_last_epoch_not_the_best_on_validation():
    session, model = run_loop([0.3, 0.9, 0.6, 0.7], patience=None)
    assert model.steps == 4  # the last epoch's weights, though epoch 2 scored best
    assert session.best_row == 3 and not session.early_stopped


def test_with_early_stopping_the_best_epoch_on_validation_is_kept():
    session, model = run_loop([0.3, 0.9, 0.6, 0.7, 0.5, 0.4], patience=2)
    assert session.early_stopped and len(session.history["epoch"]) == 4
    assert model.steps == 2 and session.best_row == 1


def test_stop_keeps_the_best_epoch_even_on_a_fixed_schedule():
    """Stopped mid-schedule, the last epoch may sit at a high learning rate: the best is kept."""
    session, model = run_loop([0.3, 0.9, 0.6, 0.7], patience=None, stop_after_steps=3)
    assert session.stopped_by_user and len(session.history["epoch"]) == 3
    assert model.steps == 2 and session.best_row == 1


def session_with(config: TrainConfig) -> _Session:
    """A session's settings without building a model (enough for its per-phase choices)."""
    session = object.__new__(_Session)
    session.config = config
    return session


def test_scratch_defaults_differ_from_the_head_s():
    session = session_with(TrainConfig(weights="none"))
    assert session.patience("scratch") is None
    assert session.patience("head") == 10 and session.patience("fine_tune") == 5
    assert session.label_smoothing("scratch") == LABEL_SMOOTHING > 0
    assert session.label_smoothing("head") == 0.0
    assert session.optimizer("scratch") == "sgd"
    assert session.optimizer("head") == session.optimizer("fine_tune") == "adam"
    assert session.weight_decay("scratch") == OPTIMIZERS["sgd"].weight_decay > 0
    assert session.weight_decay("head") == session.weight_decay("fine_tune") == 0.0
    chosen = session_with(TrainConfig(weights="none", early_stopping_patience=7,
                                      label_smoothing=0.0, weight_decay=0.0, optimizer="adam"))
    assert chosen.patience("scratch") == 7 and chosen.label_smoothing("scratch") == 0.0
    assert chosen.weight_decay("scratch") == 0.0 and chosen.optimizer("scratch") == "adam"
    adam = session_with(TrainConfig(weights="none", optimizer="adam"))
    assert adam.weight_decay("scratch") == OPTIMIZERS["adam"].weight_decay


def test_the_optimizers_decay_kernels_but_not_batchnorm_or_biases():
    import keras

    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Conv2D(2, 3),
                              keras.layers.BatchNormalization(), keras.layers.Flatten(),
                              keras.layers.Dense(2)])
    for name, kind in (("sgd", keras.optimizers.SGD), ("adam", keras.optimizers.Adam)):
        optimizer = build_optimizer(keras, name, 0.0, 1e-2)
        assert isinstance(optimizer, kind) and optimizer.weight_decay == 1e-2
        optimizer.build(model.trainable_variables)
        decayed = {v.path.split("/")[-1] for v in model.trainable_variables
                   if optimizer._use_weight_decay(v)}
        assert decayed == {"kernel"}
    assert build_optimizer(keras, "sgd", 0.0, 0.0).nesterov
    with pytest.raises(ValueError, match="unknown optimizer"):
        build_optimizer(keras, "adagrad", 0.0, 0.0)


def test_label_smoothing_softens_the_loss_of_a_sure_answer():
    from mbv2gui.core.training import model as M

    truth = np.array([[1.0, 0.0, 0.0]], dtype=np.float32)
    sure = np.array([[0.999, 0.0005, 0.0005]], dtype=np.float32)
    plain, _ = M.targets_loss(3, False, 4.0, 0.3)
    smoothed, _ = M.targets_loss(3, False, 4.0, 0.3, label_smoothing=0.1)
    # A sure right answer costs almost nothing with hard labels, and more with smoothed ones,
    # which is what keeps a small training set from pushing the answers to 100%.
    assert float(np.asarray(plain(truth, sure))[0]) < 0.01
    assert float(np.asarray(smoothed(truth, sure))[0]) > 0.2


def test_the_command_line_keeps_the_default_augmentations_unless_told_none():
    import argparse

    from mbv2gui.commands.train import add_arguments, config_from_args
    from mbv2gui.core.training.config import AUGMENTATIONS

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    default, none = (config_from_args(parser.parse_args(["DATA", "--out", "RUN", *extra]))
                     for extra in ([], ["--no-augment"]))
    assert all(getattr(default, key) == getattr(TrainConfig(), key) for key in AUGMENTATIONS)
    assert not any(getattr(none, key) for key in AUGMENTATIONS)
