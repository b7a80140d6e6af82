"""The training job: `train(data, config, report, should_stop, run_dir=None) -> Run`.

With pretrained weights: the frozen backbone's pooled features are computed once per image
(cached, see core/training/features.py) and the head trains on them in seconds ("features", "head"
phases); optionally the top blocks are then fine-tuned end to end with augmentation, BatchNorm
frozen ("fine_tune"). Without: the whole network trains from scratch with augmentation
("scratch"). Events (plain dicts, see mbv2gui.core.jobs):
  {"type": "phase", "phase", "message"}
  {"type": "progress", "done", "total", "message"}
  {"type": "batch", "phase", "epoch", "step", "steps", "epochs", "loss", "accuracy", "learning_rate",
   "images_per_second", "eta_seconds"}                            (throttled)
  {"type": "epoch", "phase", "epoch", "epochs", "loss", "accuracy", "val_loss",
   "val_accuracy", "learning_rate", "seconds"}
  {"type": "message", "text", "level"}
This module imports no TensorFlow until `train` runs.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from mbv2gui.core.files.diskspace import (ensure_free, model_file_bytes, pixel_cache_bytes,
                                    said_in_words)
from mbv2gui.core.errors import JobCancelled, UserError
from mbv2gui.core.jobs import Throttle, ignore_events, left_out, message, never_stop
from mbv2gui.core.files.partial_outputs import building, sweep_partial_outputs
from mbv2gui.core.runs import Run, new_run_id, prediction_row, record_in_project
from mbv2gui.core.store.splits import ASSIGNED_SPLITS
from mbv2gui.core.training.config import TrainConfig
from mbv2gui.core.training.loop import HISTORY_KEYS, EpochLoop
from mbv2gui.core.training import scratch_recipe as recipe
from mbv2gui.core.training.stopping_words import diverged_sentence


BUDGET_GROWTH = 4  # a time budget runs at most 4× the automatic epochs: more rarely helps


def train(data, config: TrainConfig | None = None, report=ignore_events, should_stop=never_stop,
          run_dir=None, record=True):
    """`record`: False for the workers of a training spread over machines other than the
    chief, which train alongside it but must not add the run to the project."""
    from mbv2gui.core.training.dataset import load_train_data

    config = config or TrainConfig()
    started = time.monotonic()
    project_path, train_data = load_train_data(data, config.val_split, config.seed)
    if train_data.unreadable:  # a folder's files that could not even be hashed: a pipe, ...
        from mbv2gui.core.files.images import ImageError

        report(left_out([ImageError(*problem).message for problem in train_data.unreadable]))
    run_id = Path(run_dir).name if run_dir else new_run_id()
    own_folder = run_dir is None  # the project's runs folder, not one the user named
    if run_dir is None:
        from mbv2gui.core.store.sidecar import runs_folder

        run_dir = runs_folder(project_path or None) / run_id
    run_dir = Path(run_dir)
    sweep_partial_outputs(run_dir.parent, runs_folder=own_folder)
    # Everything is written into a hidden folder beside run_dir, which becomes run_dir only
    # when complete: a killed or failed training leaves nothing that looks like a run.
    with building(run_dir, is_run_folder, "training run", "train") as work:
        from mbv2gui.core.training.tfsetup import weights_notes_to

        with weights_notes_to(report):
            session = _Session(train_data, config, report, should_stop, work)
            try:
                session.run()
            finally:
                session.close()
        metrics = session.metrics(time.monotonic() - started)
        run = Run(run_dir, config, list(train_data.class_names), session.history, metrics,
                  session.predictions())
        with said_in_words(work, "save the trained model",
                           model_file_bytes(session.classifier.count_params())):
            run.save(session.classifier, folder=work)
    if project_path and record:
        record_in_project(project_path, run)
    report(message(f"Saved the run in {run_dir}.", "info"))
    return run


def is_run_folder(folder: Path) -> bool:
    """A folder a training wrote (which a new training given the same --out may replace)."""
    return (Path(folder) / "labels.txt").is_file()


class _Session:
    """One training: builds the model and runs the phases; TensorFlow is imported here."""

    def __init__(self, data, config: TrainConfig, report, should_stop, run_dir: Path):
        from mbv2gui.core.training import model as M
        from mbv2gui.core.training.tfsetup import keras, set_precision_policy, set_seed, strategy
        from mbv2gui.core.training.weights import resolve_weights

        self.M, self.k = M, keras()
        self.data, self.config, self.run_dir = data, config, run_dir
        self.report, self.should_stop = report, should_stop
        self.throttle = Throttle(report, 4.0)
        # 'auto' downloads ImageNet's file once when it is nowhere on this machine: with this
        # job's progress events and Cancel (a WeightsUnavailable sentence when offline).
        self.weights = resolve_weights(config.weights, config.alpha, config.image_size,
                                       report=report, should_stop=should_stop)
        fallback = config.weights == "auto" and not self.weights.pretrained
        report(message(self.weights.sentence, "warning" if fallback else "info"))
        set_seed(config.seed)
        set_precision_policy()
        self.strategy = strategy()
        # The batch size chosen is each replica's; one step trains on all of theirs together.
        self.global_batch = config.batch_size * self.strategy.num_replicas_in_sync
        self.n = len(data.class_names)
        self.labels = np.array([data.label_index(s) for s in data.samples])
        with self.strategy.scope():
            self.backbone = M.build_backbone(config.alpha, config.image_size, self.weights,
                                             config.bn_momentum)
            self.head = M.Head.create(self.n, config.dropout, config.l2)
            self.classifier = M.build_classifier(self.backbone, self.head, config.image_size)
        self._check_space()
        self.history = {key: [] for key in HISTORY_KEYS}
        self.history["fine_tune_start_epoch"] = None
        self.store = self.features = self.teacher = None
        self.stopped_by_user = self.early_stopped = False
        self.early_stop = self.diverged = None
        self.best_row, self.best_score = None, None
        self.ok = np.ones(len(data.samples), dtype=bool)
        self.bad, self.final = set(), {}
        self.budget_started, self.time_budget, self.budget_said = None, None, set()

    def _check_space(self) -> None:
        """Told before minutes of work: the run folder's disk must hold the decoded-pixels
        file (from scratch or fine-tuning) and the model file."""
        needed = model_file_bytes(self.classifier.count_params())
        if not self.weights.pretrained or self.config.fine_tune_epochs > 0:
            needed += pixel_cache_bytes(len(self.data.samples), self.config.image_size)
        ensure_free(self.run_dir, needed, "train")

    # ---------------------------------------------------------------- phases
    def run(self) -> None:
        config = self.config
        self.teacher_targets()  # first: a teacher that does not fit is told at once
        if self.weights.pretrained:
            self._features()
            self._head()
            if config.fine_tune_epochs > 0 and not (self.stopped_by_user or self.diverged):
                try:
                    self._fine_tune()
                except JobCancelled:  # stopped while preparing images: the head is kept
                    self.stopped_by_user = True
        else:
            self._scratch()
        if not self.history["epoch"]:
            if self.diverged:
                raise UserError(diverged_sentence({"diverged": self.diverged}))
            raise JobCancelled()
        wanted = self.indices("validation") + self.indices("test")
        self.final = dict(zip(wanted, self._probabilities(wanted)))

    def _phase(self, phase: str, text: str) -> None:
        self.report({"type": "phase", "phase": phase, "message": text})

    def _features(self) -> None:
        from mbv2gui.core.training.features import FeatureCache, backbone_key, compute_features

        self._phase("features", "Computing image features (once per image; later runs reuse them)")
        c = self.config
        cache = FeatureCache(self.data.cache_dir, backbone_key(c.alpha, c.image_size,
                                                               self.weights.identity))
        samples = self.data.samples
        model = self.M.build_feature_model(self.backbone, c.image_size)
        self.features, self.ok, errors = compute_features(
            model, [s.path for s in samples], [s.content_hash for s in samples], c.image_size,
            cache, self._progress, self.should_stop, c.batch_size)
        self._readable(errors)

    def _pixels(self) -> None:
        from mbv2gui.core.training.pipeline import PixelStore

        self.report(message("Preparing images (decoded once, reused every epoch)…"))
        samples = self.data.samples

        def progress(done, total):
            self._progress({"type": "progress", "done": done, "total": total,
                            "message": "Preparing images"})

        self.store = PixelStore.build([s.path for s in samples], self.config.image_size,
                                      self.run_dir / "pixels.tmp.npy", progress, self.should_stop)
        self.ok = self.ok & self.store.ok
        self._readable(self.store.errors)

    def _readable(self, errors: dict) -> None:
        from mbv2gui.core.training.dataset import check_usable

        new = {i: e for i, e in errors.items() if i not in self.bad}  # told once
        self.bad.update(new)
        new_errors = [e for _, e in sorted(new.items())]
        self.data.unreadable += [(e.path, e.reason) for e in new_errors]
        if new_errors:
            self.report(left_out([e.message for e in new_errors]))
        check_usable(self.data, set(np.flatnonzero(self.ok).tolist()))

    def _progress(self, event) -> None:
        self.throttle(event, force=event["done"] == event["total"])

    def _head(self) -> None:
        c = self.config
        self._phase("head", "Training the classifier on the image features")
        train = np.asarray(self.indices("train"))
        x, y, w = self.features[train], self._targets(train), self._sample_weights(train)
        rng = np.random.default_rng(c.seed)

        def batches(epoch):
            order = rng.permutation(len(train))
            for start in range(0, len(order), self.global_batch):
                chosen = order[start:start + self.global_batch]
                yield x[chosen], y[chosen], w[chosen]

        self._fit("head", self._head_model(), batches, c.epochs or 30, c.learning_rate or 1e-3,
                  len(train), grows=not c.epochs and not c.fine_tune_epochs)

    def _fine_tune(self) -> None:
        c = self.config
        self._phase("fine_tune", f"Fine-tuning the top {c.fine_tune_blocks} blocks of the "
                    "network on the images (BatchNorm kept fixed)")
        self._pixels()
        self.history["fine_tune_start_epoch"] = len(self.history["epoch"])
        self.M.unfreeze_top_blocks(self.backbone, c.fine_tune_blocks)
        self._fit_pixels("fine_tune", c.fine_tune_epochs, (c.learning_rate or 1e-3) / 10,
                         self.best_score, grows=False)

    def _scratch(self) -> None:
        c = self.config
        self._phase("scratch", "Training the whole network from scratch")
        self._pixels()
        images = len(self.indices("train"))
        epochs = c.epochs or recipe.scratch_epochs(images)
        steps = epochs * -(-images // self.global_batch)
        rate = c.learning_rate or recipe.scratch_learning_rate(steps, self.optimizer("scratch"),
                                                               self.global_batch)
        self._fit_pixels("scratch", epochs, rate, None, grows=not c.epochs)

    def _fit_pixels(self, phase, epochs, learning_rate, best, grows) -> None:
        from mbv2gui.core.training.pipeline import augmenter, training_batches

        c = self.config
        train = np.asarray(self.indices("train"))
        batches, _ = training_batches(self.store, train, self._targets(train),
                                      self._sample_weights(train), self.global_batch,
                                      augmenter(c, c.seed), c.seed)
        self._fit(phase, self.classifier, batches, epochs, learning_rate, len(train), best,
                  grows)

    def _fit(self, phase, model, batches, epochs, learning_rate, count, best=None,
             grows=False) -> None:
        """Trains `epochs` epochs, or what fits the time budget (`grows`: the number of epochs
        was not chosen, so a budget may also give more; see _planner)."""
        steps = max(1, -(-count // self.global_batch))
        planner = self._planner(phase, epochs, steps, count, grows)
        epochs = planner.ceiling
        loss, accuracy = self.M.targets_loss(self.n, self.teacher_targets() is not None,
                                             self.config.distill_temperature,
                                             self.config.distill_alpha,
                                             self.label_smoothing(phase))
        with self.strategy.scope():
            schedule = self.M.warmup_cosine(learning_rate, epochs * steps)
            optimizer = recipe.build_optimizer(self.k, self.optimizer(phase), schedule,
                                               self.weight_decay(phase))
            if self.k.mixed_precision.global_policy().name == "mixed_float16":
                # float16 gradients underflow without loss scaling (GPU only; see tfsetup)
                optimizer = self.k.optimizers.LossScaleOptimizer(optimizer)
            step = self.M.train_step(model, optimizer, loss, accuracy, self.strategy)
        self.epoch_offset = len(self.history["epoch"])

        def current_rate() -> float:
            return float(np.asarray(schedule(optimizer.iterations)))

        def resize_schedule(planned: int) -> None:
            schedule.resize(planned * steps)

        EpochLoop(self, phase, model, epochs, steps, best, planner).run(batches, step, current_rate,
                                                                     resize_schedule)

    def _planner(self, phase: str, epochs: int, steps: int, count: int, grows: bool):
        """How many epochs a phase runs: with the user's time budget, as many as fit (up to
        `epochs`, or BUDGET_GROWTH × that when the number was automatic); with automatic epochs
        on a large dataset from scratch, at most what fits the automatic budget."""
        from mbv2gui.core.training.budget import EpochPlanner, automatic_budget
        from mbv2gui.core.training.tfsetup import spread_over_machines

        c = self.config
        budget, self.budget_automatic = c.time_budget_s, False
        if spread_over_machines():  # each would plan from its own clock: no budget
            budget, grows = None, False
        if budget:
            ceiling = epochs * BUDGET_GROWTH if grows else epochs
        else:
            ceiling = epochs
            budget = automatic_budget(count) if grows and phase == "scratch" else None
            self.budget_automatic = budget is not None
        if self.budget_started is None:  # the budget counts from the first epoch on
            self.budget_started = time.monotonic()
        left = None if budget is None else budget - (time.monotonic() - self.budget_started)
        return EpochPlanner(left, ceiling, steps)

    def budget_planned(self, phase: str, planned: int, planner) -> None:
        """Says, once a phase, how many epochs the budget allows at the measured speed."""
        from mbv2gui.core.training.budget import about, duration_words
        from mbv2gui.core.words import plural

        if phase in self.budget_said or planner.budget_s is None:
            return
        self.budget_said.add(phase)
        per_epoch = planner.estimated_epoch_seconds()
        epochs = plural(planned, "epoch")
        if self.budget_automatic:
            text = (f"Automatic epochs: {planner.ceiling} epochs would take "
                    f"{about(per_epoch * planner.ceiling)} on this computer, so this training "
                    f"keeps to {about(self.config_budget())} ({epochs}), as suits "
                    f"{plural(len(self.indices('train')), 'image')}.")
        else:
            text = (f"At {about(per_epoch)} an epoch on this computer, {epochs} "
                    f"{'fits' if planned == 1 else 'fit'} in the "
                    f"{duration_words(self.config_budget())} budget.")
        self.report(message(text))

    def config_budget(self) -> float:
        from mbv2gui.core.training.budget import automatic_budget

        return self.config.time_budget_s or automatic_budget(len(self.indices("train")))

    def note_budget(self, planner, epochs_run: int, epochs: int) -> None:
        """Records whether the budget, rather than the planned epochs or early stopping, ended
        the phase (the run's metrics say it: "Stopped at the 20-minute budget after epoch 14")."""
        stopped = (epochs < planner.ceiling and epochs_run >= epochs and not self.early_stopped
                   and not self.stopped_by_user)
        self.time_budget = {"seconds": self.config_budget(), "automatic": self.budget_automatic,
                            "epoch": len(self.history["epoch"]), "stopped": stopped}

    def patience(self, phase: str) -> int | None:
        """Epochs without improvement before a phase stops early; None: it never does, and
        ends on its last epoch's weights rather than the epoch best on validation."""
        if self.config.early_stopping_patience:
            return int(self.config.early_stopping_patience)
        return {"head": 10, "fine_tune": 5, "scratch": None}[phase]

    def label_smoothing(self, phase: str) -> float:
        if self.config.label_smoothing is not None:
            return float(self.config.label_smoothing)
        return recipe.LABEL_SMOOTHING if phase == "scratch" else 0.0

    def optimizer(self, phase: str) -> str:
        if self.config.optimizer is not None:
            return self.config.optimizer
        return recipe.SCRATCH_OPTIMIZER if phase == "scratch" else "adam"

    def weight_decay(self, phase: str) -> float:
        if self.config.weight_decay is not None:
            return float(self.config.weight_decay)
        return recipe.optimizer_recipe(self.optimizer(phase)).weight_decay \
            if phase == "scratch" else 0.0

    # ---------------------------------------------------------------- data
    def indices(self, split: str) -> list[int]:
        return [i for i, s in enumerate(self.data.samples) if s.split == split and self.ok[i]]

    def _sample_weights(self, indices) -> np.ndarray:
        from mbv2gui.core.training.dataset import balanced_weights

        labels = self.labels[indices]
        return balanced_weights(labels, self.n) if self.config.class_weights else \
            np.ones(len(labels), dtype=np.float32)

    def _targets(self, indices) -> np.ndarray:
        """One-hot labels, followed by the teacher's softened answers when distilling."""
        onehot = np.eye(self.n, dtype=np.float32)[self.labels[indices]]
        soft = self.teacher_targets()
        return onehot if soft is None else np.concatenate([onehot, soft[indices]], axis=1)

    def teacher_targets(self):
        """The teacher's softened probabilities for every sample (computed once), or None."""
        if self.config.teacher_path and self.teacher is None:
            self.report(message("Asking the teacher model for its answers…"))
            self.teacher = self.M.teacher_probabilities(
                self.config.teacher_path, [s.path for s in self.data.samples], self.n,
                self.config.image_size, self.config.distill_temperature, self.should_stop)
        return self.teacher

    def _probabilities(self, indices) -> np.ndarray:
        """The current model's answers: on cached features while only the head trained
        (the same numbers the full model gives on those pixels), else on the images."""
        if not indices:
            return np.zeros((0, self.n), dtype=np.float32)
        if self.store is None:
            return np.asarray(self._head_model().predict_on_batch(self.features[indices]))
        if getattr(self, "_forward", None) is None:
            self._forward = self.M.compiled_forward(self.classifier)
        forward = self._forward
        return np.concatenate([forward(b) for b in self.store.batches(indices, 64)])

    def validate(self):
        """(loss, accuracy) of the current model on the validation images, or (None, None)."""
        val = self.indices("validation")
        return _scores(self._probabilities(val), self.labels[val]) if val else (None, None)

    def _head_model(self):
        if getattr(self, "_head_only", None) is None:
            self._head_only = self.M.build_head_model(self.features.shape[1], self.head)
        return self._head_only

    # ---------------------------------------------------------------- results
    def predictions(self) -> list[dict]:

        return [prediction_row(self.data.samples[i], int(self.labels[i]), p)
                for i, p in sorted(self.final.items())]

    def _final_scores(self, split: str):
        indices = self.indices(split)
        if not indices:
            return None, None
        return _scores(np.array([self.final[i] for i in indices]), self.labels[indices])

    def metrics(self, seconds: float) -> dict:
        val_loss, val_accuracy = self._final_scores("validation")
        test_accuracy = self._final_scores("test")[1]
        best = self.best_row if self.best_row is not None else len(self.history["epoch"]) - 1
        return {
            "accuracy": self.history["accuracy"][best] if best >= 0 else None,
            "val_accuracy": val_accuracy, "val_loss": val_loss, "test_accuracy": test_accuracy,
            "epochs": len(self.history["epoch"]), "best_epoch": best + 1,
            "seconds": round(seconds, 2), "weights_source": self.weights.sentence,
            "pretrained": self.weights.pretrained, "start_point": self.weights.short,
            "counts": {split: {name: int(sum(1 for i in self.indices(split)
                                             if self.labels[i] == k))
                               for k, name in enumerate(self.data.class_names)}
                       for split in ASSIGNED_SPLITS},
            "unreadable": len(self.data.unreadable),
            "stopped_early_by_user": self.stopped_by_user, "stopped_early": self.early_stopped,
            "early_stop": self.early_stop, "time_budget": self.time_budget,
            "diverged": self.diverged,
        }

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def _scores(probabilities: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of predicted probabilities against true class indices."""
    loss = -np.log(probabilities[np.arange(len(truth)), truth] + 1e-7)
    return float(np.mean(loss)), float(np.mean(probabilities.argmax(axis=1) == truth))
