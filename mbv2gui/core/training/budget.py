"""A training sized to a time budget instead of a number of epochs. Plain Python (no TensorFlow),
so that the sizing is a pure function the tests drive with a fake clock.

The budget counts the training loop itself (the epochs and their validation): decoding the
images or computing their features comes before it, once per run. The first steps of a phase
are slow because TensorFlow traces its graphs there, so the speed is measured from the steps
after them, and the epochs that fit are counted again after every epoch.
"""

from __future__ import annotations

import re
import time

from mbv2gui.core.words import plural

SKIP_STEPS = 3  # the first steps of a phase trace the graph: not the speed of the rest
# Automatic epochs on many images: a budget from the dataset's size (15 ms an image, 10 minutes
# to an hour), used only when the automatic epochs would take longer on this computer.
LARGE_DATASET = 5000
SECONDS_PER_IMAGE = 0.015
AUTOMATIC_BUDGET_RANGE = (600.0, 3600.0)

_UNITS = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}


def parse_duration(text: str) -> float:
    """Seconds from "90s", "20m", "1.5h" or a plain number of seconds; ValueError (a sentence)
    for anything else."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", str(text).lower())
    if not match or match.group(2) not in _UNITS or float(match.group(1)) <= 0:
        raise ValueError(f"“{text}” is not a time budget: give a number of seconds, or minutes "
                         "or hours with their unit, such as 90s, 20m or 1h.")
    return float(match.group(1)) * _UNITS[match.group(2)]


def duration_words(seconds: float) -> str:
    """ "20-minute", "90-second", "2-hour", "2.5-minute": the budget as an adjective."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g}-hour"
    if seconds >= 120:
        return f"{seconds / 60:.3g}-minute"
    return f"{seconds:g}-second"


def about(seconds: float) -> str:
    """ "about 12 minutes", "about 45 seconds", "about 2 hours"."""
    if seconds >= 5400:
        return f"about {seconds / 3600:.0f} hours"
    if seconds >= 90:
        return f"about {plural(round(seconds / 60), 'minute')}"
    return f"about {plural(max(1, round(seconds)), 'second')}"


def automatic_budget(train_images: int) -> float | None:
    """The budget "Automatic" epochs keep to on a large dataset (None below LARGE_DATASET)."""
    if train_images < LARGE_DATASET:
        return None
    low, high = AUTOMATIC_BUDGET_RANGE
    return min(high, max(low, train_images * SECONDS_PER_IMAGE))


def epochs_that_fit(seconds_left: float, epoch_seconds: float, epochs_done: int,
                    ceiling: int) -> int:
    """The phase's total number of epochs: those done, plus as many whole epochs of
    `epoch_seconds` as fit in `seconds_left`, at most `ceiling`; at least one."""
    if epoch_seconds <= 0:
        return max(1, ceiling)
    more = max(0, int(seconds_left // epoch_seconds))
    return max(1, epochs_done, min(ceiling, epochs_done + more))


class EpochPlanner:
    """Measures one phase's speed and says how many epochs fit its budget (`budget_s` None:
    no budget, only an honest ETA). Call `step()` after every batch and `epoch_end()` after
    every epoch (validation included); `clock` is injectable for tests."""

    def __init__(self, budget_s: float | None, ceiling: int, steps_per_epoch: int,
                 clock=time.monotonic, skip_steps: int = SKIP_STEPS):
        self.budget_s, self.ceiling, self.steps = budget_s, int(ceiling), int(steps_per_epoch)
        self.clock, self.skip = clock, skip_steps
        self.started = clock()
        self.steps_done = 0
        self.measured_from = None  # (time, steps) when the steps stopped tracing
        self.epoch_started = self.started
        self.epoch_seconds: list[float] = []
        self.overhead = 0.0  # the last epoch's time after its last step (validation)
        self.last_step_at = self.started

    def step(self) -> None:
        self.steps_done += 1
        self.last_step_at = self.clock()
        if self.steps_done == self.skip:
            self.measured_from = (self.clock(), self.steps_done)

    def step_seconds(self) -> float | None:
        """Seconds a step takes once traced (None until a few steps have been measured)."""
        if self.measured_from is None or self.steps_done <= self.measured_from[1]:
            return None
        start, steps = self.measured_from
        return (self.last_step_at - start) / (self.steps_done - steps)

    def epoch_end(self) -> int:
        """Records the epoch that just ended; returns the phase's epochs that fit."""
        now = self.clock()
        self.epoch_seconds.append(now - self.epoch_started)
        self.overhead = max(0.0, now - self.last_step_at)
        self.epoch_started = now
        return self.epochs()

    def estimated_epoch_seconds(self) -> float | None:
        """A whole epoch's seconds: the mean of the epochs after the first (which traced),
        else the measured step time × steps (+ validation), else the first epoch's."""
        if len(self.epoch_seconds) >= 2:
            steady = self.epoch_seconds[1:]
            return sum(steady) / len(steady)
        per_step = self.step_seconds()
        if per_step is not None:
            return per_step * self.steps + self.overhead
        return self.epoch_seconds[0] if self.epoch_seconds else None

    def epochs(self) -> int:
        if self.budget_s is None:
            return self.ceiling
        per_epoch = self.estimated_epoch_seconds()
        if per_epoch is None:
            return self.ceiling
        left = self.budget_s - (self.clock() - self.started)
        return epochs_that_fit(left, per_epoch, len(self.epoch_seconds), self.ceiling)

    def eta(self, epochs: int, epoch_index: int, step_index: int) -> float | None:
        """Seconds left in the phase, from the traced speed (None before it is measured), at
        step `step_index` (1-based) of epoch `epoch_index` (0-based) of `epochs`."""
        per_step = self.step_seconds()
        if per_step is None:
            return None
        steps_left = (epochs - epoch_index) * self.steps - step_index
        epochs_left = epochs - epoch_index  # this one's validation still to come
        eta = per_step * max(0, steps_left) + self.overhead * epochs_left
        if self.budget_s is not None:
            eta = min(eta, max(0.0, self.budget_s - (self.clock() - self.started)))
        return eta
