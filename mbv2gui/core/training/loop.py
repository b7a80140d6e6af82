"""One phase's epochs (a piece of the training job, core/training/train.py): the loop over
batches with Stop, throttled batch events, an event per epoch, the best weights kept with early
stopping, the time budget's re-planning, and a stop when the training diverges (its loss or
weights stop being finite numbers). `session` is the training's _Session."""

from __future__ import annotations

import math
import time

import numpy as np

HISTORY_KEYS = ("epoch", "phase", "loss", "accuracy", "val_loss", "val_accuracy",
                "learning_rate", "seconds")


def _weighted_mean(values, weights) -> float:
    return float(np.dot(values, weights) / max(1e-9, float(np.sum(weights))))


def _all_finite(weights) -> bool:
    return all(np.all(np.isfinite(w)) for w in weights)


class EpochLoop:
    """One phase's training loop: polls should_stop between batches, reports throttled batch
    events and an event per epoch, keeps the best weights (validation accuracy, then loss)
    with early stopping, and restores them at the end. A plain loop over a traced step rather
    than `fit`: Keras' fit traces MobileNetV2's training step in ~27 s on 2 cores, this ~7 s."""

    def __init__(self, session, phase: str, model, epochs: int, steps: int, best=None,
                 planner=None):
        from mbv2gui.core.training.budget import EpochPlanner

        self.s, self.phase, self.model, self.epochs, self.steps = session, phase, model, epochs, steps
        # Measures the speed (an honest ETA) and, with a time budget, re-sizes self.epochs.
        self.planner = planner or EpochPlanner(None, epochs, steps)
        self.best, self.best_weights = best, (model.get_weights() if best is not None else None)
        # What a divergence falls back to: weights known to compute (the phase's start at
        # first) and the epochs they follow; an epoch's weights are known to once its
        # validation loss is finite or, with no validation images, the next step's loss.
        self.good = (model.get_weights(), len(session.history["epoch"]))
        self.unproven = None

    def run(self, batches, step_fn, learning_rate, resize_schedule=None) -> None:
        s, wait, started, done, epoch = self.s, 0, time.monotonic(), 0, 0
        s.early_stopped, s.early_stop = False, None  # said of the last phase that ran
        s.diverged = None
        while epoch < self.epochs:
            epoch_start, losses, accuracies, sizes = time.monotonic(), [], [], []
            for step, (x, y, w) in enumerate(batches(epoch)):
                if s.should_stop():
                    s.stopped_by_user = True
                    break
                loss, accuracy = step_fn(x, y, w)
                if not math.isfinite(float(loss)):
                    self._diverge()
                    break
                if self.unproven is not None:
                    self.good, self.unproven = self.unproven, None
                losses.append(float(loss))
                accuracies.append(float(accuracy))
                sizes.append(len(y))
                done += 1
                self.planner.step()
                now = time.monotonic()
                eta = self.planner.eta(self.epochs, epoch, step + 1)  # None while tracing
                s.throttle({"type": "batch", "phase": self.phase, "epoch": epoch + 1,
                            "step": step + 1, "steps": self.steps,
                            "epochs": self.epochs,
                            "loss": _weighted_mean(losses, sizes),
                            "accuracy": _weighted_mean(accuracies, sizes),
                            "learning_rate": learning_rate(),
                            "images_per_second": sum(sizes) / max(1e-6, now - epoch_start),
                            "eta_seconds": eta if eta is not None else
                            (now - started) / done * (self.epochs * self.steps - done)})
            if s.stopped_by_user or s.diverged:  # a partial epoch does not count
                break
            weights, (val_loss, val_accuracy) = self.model.get_weights(), s.validate()
            if not _all_finite(weights) or not math.isfinite(val_loss or 0.0):
                self._diverge()  # the epoch's last updates overflowed
                break
            wait = self._epoch_end(epoch, epoch_start, _weighted_mean(losses, sizes),
                                   _weighted_mean(accuracies, sizes), learning_rate(), wait,
                                   resize_schedule, weights, val_loss, val_accuracy)
            if val_loss is not None:
                self.good = (weights, len(s.history["epoch"]))
            else:
                self.unproven = (weights, len(s.history["epoch"]))
            epoch += 1
            patience = s.patience(self.phase)
            if patience is not None and wait >= patience:
                s.early_stopped = True
                # What `mbv2gui train` and the Train view say in words (run_names.py).
                s.early_stop = {"epoch": len(s.history["epoch"]),
                                "epochs": self.epochs + s.epoch_offset,
                                "patience": patience,
                                "validated": s.history["val_loss"][-1] is not None}
                break
        if self.planner.budget_s is not None:
            s.note_budget(self.planner, epoch, self.epochs)
        if self.best_weights is not None and self._keeps_best():
            self.model.set_weights(self.best_weights)
        elif s.history["epoch"]:  # the last epoch's weights are the model
            s.best_row = len(s.history["epoch"]) - 1
        s.best_score = self.best

    def _diverge(self) -> None:
        """The loss became inf or NaN (a rate too high for these images, a batch of extreme
        values): every later step would only spread it, so the phase ends here and the model
        goes back to the last weights known to compute; epochs after them are forgotten
        (stopping_words.diverged_sentence says so)."""
        from mbv2gui.core.jobs import message
        from mbv2gui.core.training.stopping_words import diverged_sentence

        s, (weights, kept) = self.s, self.good
        s.diverged = {"epoch": len(s.history["epoch"]) + 1, "epochs": self.epochs + s.epoch_offset,
                      "kept": kept}
        self.model.set_weights(weights)
        for key in HISTORY_KEYS:
            del s.history[key][kept:]
        if s.best_row is not None and s.best_row >= kept:  # the best was a forgotten epoch
            self.best_weights = None
        s.report(message(diverged_sentence({"diverged": s.diverged}), "warning"))

    def _keeps_best(self) -> bool:
        """The best epoch on validation is kept with early stopping, and when Stop ended the
        phase (its last epochs may be mid-schedule); a fixed schedule ends on its last epoch:
        choosing an epoch on the validation images would flatter their figure."""
        return self.s.patience(self.phase) is not None or self.s.stopped_by_user

    def _epoch_end(self, epoch, epoch_start, loss, accuracy, learning_rate, wait,
                   resize_schedule, weights, val_loss, val_accuracy) -> int:
        s = self.s
        planned = self.planner.epoch_end()  # before the event: it says the new plan
        if planned != self.epochs:  # the budget allows more, or fewer, than planned
            s.budget_planned(self.phase, planned, self.planner)
            self.epochs = planned
            resize_schedule(planned)
        row = {"epoch": len(s.history["epoch"]) + 1, "phase": self.phase, "loss": loss,
               "accuracy": accuracy, "val_loss": val_loss, "val_accuracy": val_accuracy,
               "learning_rate": learning_rate, "seconds": time.monotonic() - epoch_start}
        for key in HISTORY_KEYS:
            s.history[key].append(row[key])
        s.report({"type": "epoch", **row, "epochs": self.epochs + s.epoch_offset})
        score = (val_accuracy, -val_loss) if val_loss is not None else (0.0, -loss)
        if self.best is None or score > self.best:
            self.best, self.best_weights = score, weights
            s.best_row = len(s.history["epoch"]) - 1
            return 0
        return wait + 1
