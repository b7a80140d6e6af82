"""Before training: is the labeled data good enough to start, and if not, what is wrong?

`check_training_data(project)` returns a list of `Problem`s, each a sentence a person
understands, the ids of the images concerned (so the Label view can show exactly them), and
whether it blocks training (the engine would refuse) or is only a warning. The rules mirror
what mbv2gui.core.training.dataset checks when training starts, so the Train view can say so before
the person presses Start instead of after. Qt-free; one query over the project's images.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from mbv2gui.core.inference.quality import scratch_expectation
from mbv2gui.core.store.splits import validation_count

# Fewer labeled images than this in a class gets a warning (the model will guess poorly).
MIN_IMAGES_PER_CLASS = 5


@dataclass(frozen=True)
class Problem:
    kind: str  # 'no_classes' | 'one_class' | 'empty_class' | 'too_few_to_validate'
    #            | 'few_images' | 'unreadable' | 'missing' | 'changed' | 'from_scratch'
    #            | 'small_images'
    text: str  # what is wrong and what to do, in words
    image_ids: list[int] = field(default_factory=list)
    blocking: bool = False  # True: training cannot start until it is fixed
    caption: str = ""  # what the Label view says above these images

    @property
    def level(self) -> str:
        return "error" if self.blocking else "warning"


def _images(count: int) -> str:
    return f"{count} image{'' if count == 1 else 's'}"


def _quoted(names: list[str]) -> str:
    quoted = [f"“{n}”" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def check_training_data(project, min_images: int = MIN_IMAGES_PER_CLASS,
                        val_split: float = 0.2, from_scratch: bool = False,
                        image_size: int | None = None, alpha: float = 0.35) -> list[Problem]:
    """What stands between this project's labels and a good training; blocking problems first.
    `from_scratch`: the training will start from random weights (see trains_from_scratch), so
    say what accuracy to expect for this many images per class. `image_size` (and `alpha`):
    the chosen input size, to suggest a smaller one when most images are smaller than it."""
    classes = project.classes()
    usable: dict[int, list[int]] = defaultdict(list)  # class id -> usable image ids
    by_status: dict[str, list[int]] = defaultdict(list)  # labeled, not ok, not excluded
    sides: list[int] = []  # the longer side of each usable image whose size is known
    for image in project.images():
        if image.class_id is None or image.excluded:
            continue
        if image.status == "ok":
            usable[image.class_id].append(image.id)
            if image.width and image.height:
                sides.append(max(image.width, image.height))
        else:
            by_status[image.status].append(image.id)
    problems: list[Problem] = []
    if not classes:
        problems.append(Problem(
            "no_classes", "There are no classes yet. Label some images (at least two classes, "
            f"{min_images} or more images each) in the Label view, then train.", [], True))
        return problems
    with_images = [c for c in classes if usable.get(c.id)]
    empty = [c for c in classes if not usable.get(c.id)]
    if len(with_images) < 2:
        if with_images:
            only = with_images[0]
            text = (f"Only the class “{only.name}” has images; a classifier needs at least two "
                    "classes with images. Label some images of another class.")
        else:
            text = ("None of the classes has any usable images yet; label images of at least "
                    "two classes.")
        problems.append(Problem("one_class", text, [], True))
    elif empty:
        names = [c.name for c in empty]
        text = (f"The class {_quoted(names)} has no images; label some images as "
                f"“{names[0]}”, or delete the class." if len(names) == 1 else
                f"The classes {_quoted(names)} have no images; label images for them, or "
                "delete them.")
        problems.append(Problem("empty_class", text, [], True))
    if val_split > 0:
        for c in with_images:
            ids = usable[c.id]
            if validation_count(len(ids), val_split) == 0:
                problems.append(Problem(
                    "too_few_to_validate",
                    f"The class “{c.name}” has only {_images(len(ids))}, too few to keep one "
                    "aside to check the model; label at least one more, or set the validation "
                    "split to 0.", list(ids), True, f"The images of “{c.name}”"))
    blocked_small = {p.image_ids[0] for p in problems if p.kind == "too_few_to_validate"}
    for c in with_images:
        ids = usable[c.id]
        if len(ids) < min_images and ids[0] not in blocked_small:
            problems.append(Problem(
                "few_images",
                f"The class “{c.name}” has only {_images(len(ids))}; with fewer than "
                f"{min_images} the model will often be wrong about it. Label more if you can.",
                list(ids), False, f"The images of “{c.name}”"))
    words = {
        "unreadable": ("{n} could not be read (damaged, or not an image) and will be left out "
                       "of training.", "Unreadable images"),
        "missing": ("{n} {are} missing (moved or deleted) and will be left out of training; "
                    "relink their folder or remove them.", "Missing images"),
        "changed": ("{n} changed on disk since they were added and will be left out until "
                    "they are checked again.", "Changed images"),
    }
    for status, (sentence, caption) in words.items():
        ids = by_status.get(status)
        if ids:
            text = sentence.format(n=f"{_images(len(ids))} with a label",
                                   are="is" if len(ids) == 1 else "are")
            problems.append(Problem(status, text[0].upper() + text[1:], list(ids), False, caption))
    if from_scratch and len(with_images) >= 2:
        per_class = sum(len(usable[c.id]) for c in with_images) / len(with_images)
        problems.append(Problem("from_scratch", scratch_expectation(per_class) + " Choose "
                                "pretrained weights for a good model from few images."))
    smaller = image_size and input_size_suggestion(sides, image_size, alpha, from_scratch)
    if smaller:
        problems.append(smaller)
    problems.sort(key=lambda p: not p.blocking)
    return problems


def input_size_suggestion(sides: list[int], image_size: int, alpha: float = 0.35,
                          from_scratch: bool = False) -> Problem | None:
    """A suggestion, never a change: when three quarters of the images (`sides`: each one's
    longer side in pixels) are smaller than the chosen input size, the smallest offered size
    that holds them, but never under SMALLEST_SUGGESTED_SIZE (enlarging a 32 px picture to
    96 px adds no detail, yet the network needs the room), and what the larger size costs.
    With pretrained weights only sizes ImageNet weights exist for."""
    from mbv2gui.core.training.config import INPUT_SIZES, SMALLEST_SUGGESTED_SIZE
    from mbv2gui.core.training.weights import imagenet_supported

    if not sides:
        return None
    most = sorted(sides)[math.ceil(len(sides) * 0.75) - 1]  # 3/4 are this size or less
    fitting = [s for s in INPUT_SIZES if s >= max(most, SMALLEST_SUGGESTED_SIZE) and
               (from_scratch or imagenet_supported(alpha, s))]
    suggested = min(fitting, default=None)
    if suggested is None or suggested >= image_size:
        return None
    cost = (image_size / suggested) ** 2
    return Problem("small_images", (
        f"Most of the images are {most} px or smaller across, and training enlarges them to "
        f"{image_size} px: about {cost:.0f}× the computing of {suggested} px, and no detail "
        f"is gained. An image size of {suggested} × {suggested} px (Advanced settings) "
        "would train faster."))


def trains_from_scratch(config) -> bool:
    """Whether a training with `config` (a TrainConfig or its dict) starts from random weights
    for sure: weights 'none', or ImageNet asked for a size or alpha it does not exist for.
    ('auto' may still fall back to scratch when no ImageNet file can be had; the Train view
    says so from core.weights.)"""
    from mbv2gui.core.training.weights import imagenet_supported

    config = config if isinstance(config, dict) else config.to_dict()
    weights = str(config.get("weights") or "auto")
    if weights == "none":
        return True
    return weights in ("auto", "imagenet") and not imagenet_supported(
        config.get("alpha", 0.35), config.get("image_size", 96))


def blocking(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.blocking]
