"""Can this model be trusted? The one place that judges a run, in words a person can act on.

    accuracy_uncertainty(0.4, 120)  -> "40% ± 9% (on 120 validation images)"
    small_validation_warning(12, {...}) -> "Only 12 validation images: this figure could be off
                                           by 25 points. Label more images, or move ..."
    scratch_expectation(40)         -> "From scratch with 40 images per class, expect roughly
                                        25–60% accuracy; with pretrained weights, typically 80–90%."
    assess_run(run)                 -> Assessment(level, sentence, advice)
    best_run(records), default_run(records, chosen_id)

`run` is a core.runs.Run or a project RunRecord (anything with `metrics` and `config`; the
most-confused pair needs the Run's stored validation predictions). Qt-free, numpy-free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Below this validation accuracy a model is called weak: it is wrong on about one image in three.
WEAK_ACCURACY = 0.70
# A validation set smaller than this (or with fewer than MIN_VALIDATION_PER_CLASS images in a
# class) gives an accuracy figure that can be off by 15 points or more (Wilson, 95%).
MIN_VALIDATION_IMAGES = 30
MIN_VALIDATION_PER_CLASS = 5
# "Far below what pretrained weights typically give": this many points under the low end.
FAR_BELOW = 0.10
# Fewer training images per class than this and labeling more is among the best advice.
FEW_PER_CLASS = 50

# Rough expectations by images per class: (at least this many per class, (low, high)).
# Where they come from (this project's own measurements, plus common experience):
#  - from scratch, a 10-class clothing set reached 40% with 40 images per class and 56% with
#    ~300 per class (an earlier recipe); with today's (core/training/scratch_recipe.py), on
#    cifar10-5k's 1,000 held-out photos (bench/bench_scratch_recipe.py, seed 0), labeled
#    images per class -> accuracy: 20 -> 25.9%, 50 -> 33.4%, 150 -> 45.7%, 400 -> 67.9%
#    (65.4-67.9% over 3 seeds, mean 66.9%); sign-digits-mini (5 very distinct classes, 40
#    each) scored 94-100%, so easy sets do far better;
#  - a frozen MobileNetV2 head on ImageNet features with ~40 images per class is typically
#    80–90% (Teachable Machine, Lobe and Keras' transfer-learning guide report the same range).
# They are stated to the user as rough expectations, never as promises.
SCRATCH_EXPECTATION = ((0, (0.20, 0.50)), (20, (0.25, 0.60)), (150, (0.45, 0.70)),
                       (1000, (0.60, 0.85)))
PRETRAINED_EXPECTATION = ((0, (0.60, 0.85)), (20, (0.80, 0.90)), (150, (0.85, 0.95)))


@dataclass(frozen=True)
class Assessment:
    level: str  # 'good' | 'weak' | 'unreliable'
    sentence: str  # the verdict, with the accuracy and how sure it is
    advice: list[str] = field(default_factory=list)  # what would help most, best first

    @property
    def trustworthy(self) -> bool:
        return self.level == "good"


# ------------------------------------------------------------------ how sure a figure is
def wilson_interval(accuracy: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion measured on n items (good for small n and
    for accuracies near 0 or 1, where the normal approximation says nonsense like 100% ± 0)."""
    if n <= 0:
        return 0.0, 1.0
    p = min(1.0, max(0.0, float(accuracy)))
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def accuracy_margin(accuracy: float, n: int) -> float:
    """Half the width of the 95% interval: the "±" said to the user."""
    low, high = wilson_interval(accuracy, n)
    return (high - low) / 2


def _images(n: int) -> str:
    return f"{n} validation image{'' if n == 1 else 's'}"


def accuracy_uncertainty(accuracy: float, n: int) -> str:
    """"40% ± 9% (on 120 validation images)"."""
    return f"{accuracy:.0%} ± {accuracy_margin(accuracy, n):.0%} (on {_images(n)})"


def small_validation_warning(n: int, per_class: dict | None = None,
                             accuracy: float = 0.5) -> str | None:
    """A sentence when the validation set is too small for its accuracy to mean much, else
    None. `per_class` maps class name to its number of validation images."""
    per_class = per_class or {}
    smallest = min(per_class.items(), key=lambda item: item[1], default=None)
    # The margin at the measured accuracy, but never below that of a 50/50 figure's 3/4: a
    # lucky 100% on 12 images is no surer than 75% on 12.
    points = round(100 * max(accuracy_margin(accuracy, n), 0.75 * accuracy_margin(0.5, n)))
    advice = "Label more images, or move more into validation."
    if n < MIN_VALIDATION_IMAGES:
        return (f"Only {_images(n)}: this figure could be off by {points} points. {advice}")
    if smallest is not None and smallest[1] < MIN_VALIDATION_PER_CLASS:
        return (f"Only {smallest[1]} of the {_images(n)} are of “{smallest[0]}”: how well the "
                f"model knows that class is barely measured. {advice}")
    return None


# ------------------------------------------------------------------ what to expect
def _expectation(table, per_class: float) -> tuple[float, float]:
    return [r for floor, r in table if per_class >= floor][-1]


def expected_accuracy(images_per_class: float, pretrained: bool) -> tuple[float, float]:
    """A rough (low, high) validation accuracy for this many images per class (see the
    tables above for where the numbers come from)."""
    return _expectation(PRETRAINED_EXPECTATION if pretrained else SCRATCH_EXPECTATION,
                        images_per_class)


def _range(bounds: tuple[float, float]) -> str:
    return f"{bounds[0] * 100:.0f}–{bounds[1]:.0%}"


def scratch_expectation(images_per_class: float) -> str:
    """What to expect before training from scratch, against pretrained weights."""
    n = int(round(images_per_class))
    return (f"From scratch with {n} image{'' if n == 1 else 's'} per class, expect roughly "
            f"{_range(expected_accuracy(n, False))} accuracy; with pretrained weights, "
            f"typically {_range(expected_accuracy(n, True))}.")


# ------------------------------------------------------------------ the verdict
def _config_dict(config) -> dict:
    if config is None:
        return {}
    return config if isinstance(config, dict) else config.to_dict()


def trained_from_scratch(config, metrics: dict | None = None) -> bool:
    """True when the run's backbone started from random weights (what metrics.json says;
    older runs without the flag: their config and weights sentence)."""
    metrics = metrics or {}
    if isinstance(metrics.get("pretrained"), bool):
        return not metrics["pretrained"]
    if str(metrics.get("weights_source", "")).startswith("Training from scratch"):
        return True
    return _config_dict(config).get("weights") == "none"


def _counts(metrics: dict, split: str) -> dict:
    return dict((metrics.get("counts") or {}).get(split) or {})


def most_confused(predictions, class_names: list[str]) -> tuple[str, str, int] | None:
    """(true class, class it is taken for, times both ways) of the pair of classes the model
    mixes up most on the validation images, or None when it makes no mistake there."""
    pairs: dict[tuple[int, int], list[int]] = {}
    for row in predictions or []:
        if row.get("split", "validation") != "validation":
            continue
        probabilities = row.get("probabilities") or []
        if not probabilities:
            continue
        true = int(row["true"])
        predicted = max(range(len(probabilities)), key=probabilities.__getitem__)
        if predicted != true:
            key = (min(true, predicted), max(true, predicted))
            counts = pairs.setdefault(key, [0, 0])
            counts[0 if true == key[0] else 1] += 1
    if not pairs:
        return None
    (a, b), (a_as_b, b_as_a) = max(pairs.items(), key=lambda item: sum(item[1]))
    first, second = (a, b) if a_as_b >= b_as_a else (b, a)
    if max(first, second) >= len(class_names):
        return None
    return class_names[first], class_names[second], a_as_b + b_as_a


def assess_run(run) -> Assessment:
    """Is the run good, weak, or impossible to judge (too few validation images), and what
    would help most, best first."""
    metrics = dict(getattr(run, "metrics", None) or {})
    config = getattr(run, "config", None)
    validation = _counts(metrics, "validation")
    train = _counts(metrics, "train")
    class_names = list(getattr(run, "class_names", None) or validation or train)
    predictions = getattr(run, "predictions", None) or []
    if not validation and predictions:  # a run without counts: its stored predictions tell
        for row in predictions:
            if row.get("split", "validation") == "validation" and int(row["true"]) < len(
                    class_names):
                name = class_names[int(row["true"])]
                validation[name] = validation.get(name, 0) + 1
    n = sum(validation.values())
    accuracy = metrics.get("val_accuracy")
    scratch = trained_from_scratch(config, metrics)
    per_class = (sum(train.values()) + n) / max(1, len(class_names)) if train or n else 0

    if not isinstance(accuracy, (int, float)) or n == 0:
        return Assessment("unreliable", "No images were kept aside to check this model, so how "
                          "often it is right on new images is unknown.",
                          ["Set the validation split above 0 and train again."])
    small = small_validation_warning(n, validation, accuracy)
    expected = expected_accuracy(per_class, pretrained=True)
    weak = accuracy < WEAK_ACCURACY or accuracy < expected[0] - FAR_BELOW
    figure = accuracy_uncertainty(accuracy, n)
    level = "weak" if weak else "unreliable" if small else "good"
    sentence = (f"On images it did not train on, this model is right {'only ' if weak else ''}"
                f"{figure}" + (": too weak to trust." if weak else "."))

    advice = []
    if small:
        advice.append(small)
    if weak and scratch:
        advice.append(f"Train with pretrained weights (ImageNet): with about {per_class:.0f} "
                      f"images per class they typically reach {_range(expected)}, against "
                      f"{_range(expected_accuracy(per_class, False))} from scratch.")
    if weak and train:
        name, count = min(train.items(), key=lambda item: item[1])
        if per_class < FEW_PER_CLASS or count < FEW_PER_CLASS:
            advice.append(f"Label more images per class: “{name}” has only {count} to learn "
                          "from.")
    confused = most_confused(predictions, class_names)
    if confused and level != "good":
        a, b, times = confused
        advice.append(f"It confuses “{a}” with “{b}” most often ({times} "
                      f"time{'' if times == 1 else 's'}): look at those images in Evaluate "
                      "and add clearer examples of each.")
    if small and weak:
        advice.append(advice.pop(0))  # the weakness matters more than the measuring
    return Assessment(level, sentence, advice)


def quality_sentence(run) -> str:
    """The verdict and the advice in one paragraph (the command line's end of training)."""
    assessment = assess_run(run)
    return " ".join([assessment.sentence, *assessment.advice])


SUGGESTIONS_WRONG = "its suggestions would be mostly wrong"


def too_weak_sentence(run, consequence: str = SUGGESTIONS_WRONG) -> str:
    """Why what this run says about images (suggestions, likely mislabeled) means little, or
    "" when the run is good. `consequence` says what would go wrong, in words."""
    assessment = assess_run(run)
    if assessment.trustworthy:
        return ""
    accuracy = (getattr(run, "metrics", None) or {}).get("val_accuracy")
    if assessment.level == "weak" and isinstance(accuracy, (int, float)):
        return (f"This model is right only {accuracy:.0%} of the time on images it did not "
                f"train on; {consequence}. Train with pretrained weights or label more images "
                "first.")
    return " ".join([assessment.sentence, *assessment.advice[:1],
                     "Until then, treat what it says with care."])


# ------------------------------------------------------------------ which run by default
def _accuracy(record) -> float:
    value = (getattr(record, "metrics", None) or {}).get("val_accuracy")
    return float(value) if isinstance(value, (int, float)) else -1.0


def best_run(records):
    """The run with the best validation accuracy (the newest of equals), or None. Records are
    the project's runs (Project.runs(), in any order)."""
    return max(records or [], default=None, key=lambda r: (
        _accuracy(r), getattr(r, "created", ""), getattr(r, "id", "")))


def default_run(records, chosen_id: str = ""):
    """The run every view uses: the one the person chose (the context's current run) if it
    still exists, else the best one. The single rule for Predict, Export, Evaluate,
    suggestions and the runs list."""
    records = list(records or [])
    chosen = next((r for r in records if r.id == chosen_id), None) if chosen_id else None
    return chosen or best_run(records)
