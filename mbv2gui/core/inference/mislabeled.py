"""Likely mislabeled images: the labeled images whose given label the model most disbelieves.

The idea is cleanlab's confident learning, done cheaply on the cached backbone features:
  1. every labeled image gets an out-of-fold probability vector: k small softmax heads
     (multinomial logistic regression in numpy, on the pooled backbone features), each fitted
     without the fold it then predicts, so no image vouches for its own label;
  2. each class j gets a threshold t_j = the mean probability of j over the images labeled j
     (how sure the model usually is about that class);
  3. an image labeled i is suspect when another class k reaches its threshold (p_k >= t_k):
     it sits in the off-diagonal of the "confident joint". Suspects are ranked by their
     self-confidence p_i, lowest first, and the suggestion is the likeliest such k;
  4. the list is cut by what the cross-checking model is worth (select_label_issues): a model
     that is right less often than MIN_CROSS_CHECK_ACCURACY (or not clearly better than always
     answering the commonest class) flags nothing and says it is too weak, since nearly every
     image then sits off the diagonal (measured: 299 of 400 at 40% accuracy, most of them
     correctly labeled); otherwise an image is flagged only when the model would predict the
     other class (p_k > p_i), and at most as many as the estimated number of wrong labels.
A head fit is a few hundred matrix products on a (images x 1280) array: seconds, not minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mbv2gui.core.errors import JobCancelled, UserError
from mbv2gui.core.jobs import ignore_events, message, never_stop, progress
from mbv2gui.core.inference.quality import WEAK_ACCURACY, wilson_interval

MIN_PER_CLASS = 2  # a class with fewer labeled images cannot be held out and still learned
# Below this out-of-fold accuracy (the same line as a weak run's) most of the model's
# disagreements with the labels are its own mistakes. Measured on 400 synthetic images with 12
# flipped labels: at 40% accuracy 299 off-diagonal, 11 of them flips; at 64%, 44 flagged after
# the cut below, 8 of them flips; at 91%, 6 flagged, all flips.
MIN_CROSS_CHECK_ACCURACY = WEAK_ACCURACY
# Never flag more than this share of the images: audits of popular hand-labelled datasets found
# 3% of labels wrong on average and about 10% at worst (Northcutt et al., 2021, "Pervasive label
# errors in test sets"); a longer list is the model's confusion, not the labels'.
MAX_LABEL_ERROR_RATE = 0.15


@dataclass(frozen=True)
class Suspect:
    image_id: int | None
    path: str
    content_hash: str | None
    given: str            # the label the image has now
    suggested: str        # the class the out-of-fold model believes
    score: float          # 1 - self_confidence: higher is more suspicious
    self_confidence: float  # out-of-fold probability of the given label
    suggested_probability: float


# ------------------------------------------------------------------- the head
def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def fit_softmax_head(x: np.ndarray, y: np.ndarray, n_classes: int, l2: float = 1.0,
                     steps: int = 300, learning_rate: float = 0.01,
                     should_stop=never_stop) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression by full-batch Adam; returns (weights, bias).
    `x` should be standardized. Full batch because the data is small and it is deterministic.
    The strong L2 and small steps are on purpose: the scores are probabilities that must be
    believable. Weaker settings fit 1,280 features of 200 images so well that every
    disagreement scored 1.00 (measured on sign-digits-mini), which ranks nothing."""
    n, d = x.shape
    onehot = np.eye(n_classes)[y]
    w, b = np.zeros((d, n_classes)), np.zeros(n_classes)
    moments = [np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)]
    beta1, beta2 = 0.9, 0.999
    for step in range(1, steps + 1):
        if step % 50 == 0 and should_stop():
            raise JobCancelled()
        grad_logits = (_softmax(x @ w + b) - onehot) / n
        grads = (x.T @ grad_logits + l2 * w, grad_logits.sum(axis=0))
        for k, (param, grad) in enumerate(zip((w, b), grads)):
            m, v = moments[2 * k], moments[2 * k + 1]
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            param -= learning_rate * (m / (1 - beta1 ** step)) / (np.sqrt(v / (1 - beta2 ** step)) + 1e-8)
    return w, b


def stratified_folds(y: np.ndarray, folds: int, seed: int = 0) -> np.ndarray:
    """A fold number per item; each class is dealt round-robin over the folds in random
    order, so every fold holds out a share of every class."""
    rng = np.random.default_rng(seed)
    assignment = np.empty(len(y), dtype=int)
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        assignment[members] = (np.arange(len(members)) + rng.integers(folds)) % folds
    return assignment


def out_of_fold_probabilities(x: np.ndarray, y: np.ndarray, n_classes: int, folds: int = 5,
                              report=ignore_events, should_stop=never_stop) -> np.ndarray:
    """(n, n_classes) probabilities, each row from a head that never saw that item."""
    folds = max(2, min(folds, int(np.bincount(y, minlength=n_classes).max())))
    assignment = stratified_folds(y, folds)
    probabilities = np.zeros((len(y), n_classes))
    for fold in range(folds):
        if should_stop():
            raise JobCancelled()
        report(progress(fold, folds, f"Cross-checking labels ({fold + 1} of {folds})"))
        held = assignment == fold
        # Standardize with the training part's statistics only: nothing leaks from the held part.
        mean, std = x[~held].mean(axis=0), x[~held].std(axis=0)
        # Relative floor: a constant feature is left alone, but tiny-valued ones still count
        # (an untrained backbone's BatchNorm makes features of 1e-12 that still separate).
        std = std + 1e-6 * std.max() + 1e-30
        w, b = fit_softmax_head((x[~held] - mean) / std, y[~held], n_classes, should_stop=should_stop)
        probabilities[held] = _softmax(((x[held] - mean) / std) @ w + b)
    report(progress(folds, folds, "Cross-checking labels"))
    return probabilities


def rank_label_issues(probabilities: np.ndarray, y: np.ndarray) -> list[tuple[int, int]]:
    """(item index, suggested class) for the items in the off-diagonal of the confident joint,
    lowest self-confidence first (see the module docstring)."""
    n_classes = probabilities.shape[1]
    thresholds = np.array([probabilities[y == j, j].mean() if np.any(y == j) else 1.0
                           for j in range(n_classes)])
    confident = probabilities >= thresholds  # (n, classes): which classes reach their threshold
    issues = []
    for i in range(len(y)):
        others = [k for k in np.flatnonzero(confident[i]) if k != y[i]]
        if others:
            issues.append((i, int(max(others, key=lambda k: probabilities[i, k]))))
    issues.sort(key=lambda item: probabilities[item[0], y[item[0]]])
    return issues


@dataclass(frozen=True)
class Selection:
    flagged: list[tuple[int, int]]  # (item, suggested class), most suspicious first
    held_back: list[tuple[int, int]]  # the other off-diagonal items (for "show anyway")
    accuracy: float  # how often the out-of-fold model agrees with the given labels
    too_weak: bool  # the model is too weak for its disagreements to mean much


def select_label_issues(probabilities: np.ndarray, y: np.ndarray) -> Selection:
    """rank_label_issues, cut by the out-of-fold model's quality (see the module docstring)."""
    n = len(y)
    issues = rank_label_issues(probabilities, y)
    accuracy = float(np.mean(probabilities.argmax(axis=1) == y)) if n else 0.0
    chance = float(np.bincount(y).max() / n) if n else 1.0  # always answering the commonest
    too_weak = accuracy < MIN_CROSS_CHECK_ACCURACY or wilson_interval(accuracy, n)[0] <= chance
    if too_weak:
        return Selection([], issues, accuracy, True)
    # The model must prefer the other class, not merely find it as likely as usual.
    disagreeing = [(i, k) for i, k in issues if probabilities[i, k] > probabilities[i, y[i]]]
    # Confident learning's estimate of the wrong labels is the off-diagonal of the confident
    # joint; no more than the model's own disagreements, nor than MAX_LABEL_ERROR_RATE.
    estimated_rate = min(len(issues) / n, 1 - accuracy, MAX_LABEL_ERROR_RATE)
    cap = int(np.ceil(n * estimated_rate))
    flagged = disagreeing[:cap]
    shown = set(flagged)
    return Selection(flagged, [item for item in issues if item not in shown], accuracy, False)


@dataclass(frozen=True)
class MislabeledResult:
    suspects: list[Suspect]  # the images worth a look, most suspicious first
    held_back: list[Suspect]  # other disagreements, not worth a look at this model's quality
    accuracy: float  # how often a model trained without each image agrees with its label
    images: int  # how many images were checked
    too_weak: bool

    def sentence(self) -> str:
        """What the search found, in words."""
        checked = f"{self.images} image{'' if self.images == 1 else 's'}"
        if self.too_weak:
            return (f"The cross-check is too weak to judge the labels: a model trained without "
                    f"each image agrees with its label only {self.accuracy:.0%} of the time, so "
                    "most of its disagreements would be its own mistakes. Train with pretrained "
                    "weights or label more images first.")
        if not self.suspects:
            return (f"No image looks mislabeled: of {checked}, the model finds no label it "
                    f"strongly disbelieves (it agrees with {self.accuracy:.0%} of them).")
        count = len(self.suspects)
        return (f"{count} of {checked} may be mislabeled, most suspicious first (a model trained "
                f"without each image agrees with {self.accuracy:.0%} of the labels).")


# ------------------------------------------------------------------- the job
def find_likely_mislabeled(project_path, run_dir, report=ignore_events, should_stop=never_stop,
                           folds: int = 5) -> MislabeledResult:
    """A job: the project's likely mislabeled images, most suspicious first, cut by how much
    the cross-check can be trusted. `run_dir` is the run whose backbone turns images into
    features (its feature cache makes reruns cheap)."""
    from mbv2gui.core.store.project import Project

    project = Project.open(project_path)
    try:
        images = project.labeled_images()
        names = [n for n in project.class_names() if any(im.label == n for im in images)]
        counts = {n: sum(im.label == n for im in images) for n in names}
        small = [n for n in names if counts[n] < MIN_PER_CLASS]
        if small:
            report(message(f"Classes with fewer than {MIN_PER_CLASS} images were left out of the "
                           f"check: {', '.join(small)}.", "warning"))
            names = [n for n in names if n not in small]
            images = [im for im in images if im.label in names]
        if len(names) < 2:
            raise UserError("Finding likely mislabeled images needs at least two classes with "
                            f"{MIN_PER_CLASS} or more labeled images each.")
        from mbv2gui.core.runs import Run

        run = Run.load(run_dir)
        report(message(f"Computing features for {len(images)} images…"))
        features, usable = image_features(project, run, images, report, should_stop)
    finally:
        project.close()
    images = [images[i] for i in usable]
    index = {name: i for i, name in enumerate(names)}
    y = np.array([index[im.label] for im in images])
    probabilities = out_of_fold_probabilities(features, y, len(names), folds, report, should_stop)
    selection = select_label_issues(probabilities, y)

    def suspects(items) -> list[Suspect]:
        return [Suspect(images[i].id, images[i].path, images[i].content_hash, names[y[i]],
                        names[k], float(1 - probabilities[i, y[i]]),
                        float(probabilities[i, y[i]]), float(probabilities[i, k]))
                for i, k in items]

    return MislabeledResult(suspects(selection.flagged), suspects(selection.held_back),
                            selection.accuracy, len(y), selection.too_weak)


def image_features(project, run, images, report, should_stop) -> tuple[np.ndarray, list[int]]:
    """Pooled features of the run's own backbone for `images` (the engine's feature model and
    cache), and the indices of the images that could be read."""
    from mbv2gui.core.inference.runtime import run_folder
    from mbv2gui.core.store.sidecar import features_folder
    from mbv2gui.core.training.features import FeatureCache, compute_features
    from mbv2gui.core.training.model import build_feature_model

    size = int(run.config.image_size)
    feature_model = build_feature_model(run.load_model().get_layer("backbone"), size)
    key = _cache_key(run)
    cache = FeatureCache(features_folder(project.path), key)
    # A frozen pretrained backbone is the training's: its conversion is in the user's cache.
    # A trained one is this run's own: converted beside its model, deleted with it.
    own = key.startswith("run-")
    features, ok, errors = compute_features(
        feature_model, [im.path for im in images], [im.content_hash for im in images], size,
        cache, report, should_stop, runtime_folder=run_folder(run) / "features" if own else None)
    if errors:
        report(message(f"{len(errors)} image(s) could not be read and were left out.", "warning"))
    usable = [i for i in range(len(images)) if ok[i]]
    return features[usable], usable


def _cache_key(run) -> str:
    """The training's own feature-cache key when the run kept its pretrained backbone frozen
    (same features: reruns cost nothing), else one key per run (its backbone was trained)."""
    from mbv2gui.core.training.features import backbone_key
    from mbv2gui.core.training.weights import resolve_weights

    config = run.config
    if config.weights != "none" and not config.fine_tune_epochs:
        try:
            weights = resolve_weights(config.weights, config.alpha, config.image_size,
                                      allow_download=False)
            if weights.pretrained:
                return backbone_key(config.alpha, config.image_size, weights.identity)
        except UserError:
            pass  # the weights file moved: this run's own features are still right
    return f"run-{run.run_id}"
