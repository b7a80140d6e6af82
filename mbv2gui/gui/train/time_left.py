"""The time left in a training phase, said only once it can be honest.

The first epoch of a phase includes tracing the training step and, at its end, the validation
step (tens of seconds on a small CPU, measured on sign-digits: epoch 1 took 17 s, the seven
others 4 s together), so an estimate from it overstates the time left many times over (a first
"7 min 32 s" for a run that took 2 min). The estimate here measures the pace from the first
batch of the second epoch on (from the second batch event when the phase has one epoch), and
says "estimating…" until it has seen a few seconds and a few batches of that steady work.
Qt-free."""

from __future__ import annotations

import time

MIN_SECONDS = 3.0  # of steady work measured before the first estimate
MIN_STEPS = 3
ESTIMATING = "estimating the time left…"


class TimeLeft:
    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self.reset("")

    def reset(self, phase: str) -> None:
        self._phase = phase
        self._start = None  # (time, steps done) at the first batch event seen

    def update(self, phase: str, epoch: int, step: int, steps: int, epochs: int) -> float | None:
        """Seconds left in this phase, or None while it cannot be said honestly yet."""
        if phase != self._phase:
            self.reset(phase)
        done = (max(1, epoch) - 1) * steps + step
        now = self._clock()
        if epoch < 2 and epochs > 1:  # still in the traced first epoch
            return None
        if self._start is None or done < self._start[1]:
            self._start = (now, done)
            return None
        seconds, steps_measured = now - self._start[0], done - self._start[1]
        if seconds < MIN_SECONDS or steps_measured < MIN_STEPS or not epochs:
            return None
        return seconds / steps_measured * max(0, epochs * steps - done)
