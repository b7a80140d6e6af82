"""The from-scratch recipe's mechanics: the schedule's length, the learning rate, label
smoothing, and which epoch's weights a phase ends on. (Its accuracy is measured by
bench/bench_scratch_recipe.py, never asserted here.)"""

from __future__ import annotations

import numpy as np
import pytest

from helpers_images import make_class_tree
from mbv2gui.core.errors import UserError
from mbv2gui.core.training.config import TrainConfig
from mbv2gui.core.training.loop import HISTORY_KEYS, EpochLoop
from mbv2gui.core.training.scratch_recipe import (LABEL_SMOOTHING, OPTIMIZERS,
                                                  build_optimizer, scratch_epochs,
                                                  scratch_learning_rate)
from mbv2gui.core.training.stopping_words import diverged_sentence, early_stop_sentence
from mbv2gui.core.training.train import _Session, train


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
        accuracy = self.script.pop(0)  # None: no validation images
        return (None, None) if accuracy is None else (1.0 - accuracy, accuracy)


def run_loop(val_accuracies, patience, stop_after_steps=None, losses=None, weights_after=None):
    """Runs len(val_accuracies) epochs of one step each; returns (session, model). `losses`:
    the loss of each step in turn (0.5 when not given); `weights_after`: {step: weights}."""
    session = ScriptedSession(val_accuracies, patience, stop_after_steps)
    model = session.model = CountingModel()
    session.events = []
    session.report = session.events.append

    def step(x, y, w):
        model.steps += 1
        loss = losses[model.steps - 1] if losses else 0.5
        model.steps = (weights_after or {}).get(model.steps, model.steps)
        return loss, 0.5

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


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_loss_that_is_no_longer_a_number_stops_and_keeps_the_last_finished_epoch(bad):
    session, model = run_loop([0.3, 0.9, 0.6, 0.7], patience=None,
                              losses=[0.5, 0.4, bad, 0.3])
    assert session.diverged == {"epoch": 3, "epochs": 4, "kept": 2}
    assert len(session.history["epoch"]) == 2 and session.best_row == 1
    assert model.steps == 2  # epoch 2's weights, not the step that went wrong
    said = [e["text"] for e in session.events if e.get("type") == "message"]
    assert said == [diverged_sentence({"diverged": session.diverged})]


def test_weights_that_overflow_on_an_epochs_last_step_are_not_kept():
    """The loss is computed before the update: a last step that sends the weights to NaN shows
    only in the weights (nor may validation score them)."""
    session, model = run_loop([0.3, 0.9, 0.6], patience=None, weights_after={3: float("nan")})
    assert session.diverged == {"epoch": 3, "epochs": 3, "kept": 2}
    assert model.steps == 2 and len(session.history["epoch"]) == 2


def test_without_validation_an_epoch_counts_once_the_next_step_computes():
    """No validation images: an epoch's weights are only known to compute by the next step."""
    session, model = run_loop([None, None, None], patience=None,
                              losses=[0.5, 0.4, float("nan")])
    assert session.diverged == {"epoch": 3, "epochs": 3, "kept": 1}
    assert model.steps == 1 and len(session.history["epoch"]) == 1 and session.best_row == 0


def test_early_stopping_keeps_its_best_epoch_when_a_later_one_diverges():
    session, model = run_loop([0.3, 0.9, 0.6, 0.7], patience=3, losses=[0.5, 0.4, 0.3, float("nan")])
    assert session.diverged["kept"] == 3 and model.steps == 2 and session.best_row == 1


def test_the_divergence_sentence_says_which_epoch_is_kept_or_that_none_is():
    later = diverged_sentence({"diverged": {"epoch": 7, "epochs": 50, "kept": 6}})
    assert later.startswith("Stopped in epoch 7 of 50 because the training diverged")
    assert "after epoch 6 is kept" in later and "larger batch size" in later
    first = diverged_sentence({"diverged": {"epoch": 1, "epochs": 50, "kept": 0}})
    assert "there is no model to keep" in first
    assert early_stop_sentence({"diverged": {"epoch": 7, "epochs": 50, "kept": 6},
                                "stopped_early": False}) == later


def test_a_training_that_diverges_keeps_a_model_that_computes_or_says_there_is_none(tmp_path):
    """One step an epoch; the schedule warms up from a tenth of the peak over the first step.
    At a peak of 300 the first step (30) still computes and the second does not; at 1e30 the
    first does not: its validation loss is NaN."""
    make_class_tree(tmp_path / "data", ["red", "blue"], per_class=4, size=16)

    def config(rate):
        return TrainConfig(image_size=32, weights="none", epochs=10, batch_size=8,
                           learning_rate=rate)
    run = train(tmp_path / "data", config(300.0), run_dir=tmp_path / "run")
    assert run.metrics["diverged"] == {"epoch": 2, "epochs": 10, "kept": 1}
    assert run.metrics["epochs"] == 1 and np.isfinite(run.metrics["val_loss"])
    probabilities = np.asarray(run.load_model()(np.zeros((2, 32, 32, 3), np.float32)))
    assert np.isfinite(probabilities).all()
    with pytest.raises(UserError, match="diverged.*no model to keep"):
        train(tmp_path / "data", config(1e30), run_dir=tmp_path / "never")
    assert not (tmp_path / "never").exists()


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
