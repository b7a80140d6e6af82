"""The generic worker: results, errors in words, cancel, event order, floods, shutdown."""

import threading
import time

import pytest

from mbv2gui.core.errors import JobCancelled, UserError
from mbv2gui.core.jobs import progress
from mbv2gui.gui.shell.jobrunner import JobRunner


@pytest.fixture
def runner(qapp):
    runner = JobRunner()
    yield runner
    assert runner.shutdown(5.0), "a job thread was left running"


def add(a, b, *, report, should_stop, scale=1):
    report(progress(1, 1, "adding"))
    return (a + b) * scale


def counts_to(n, *, report, should_stop):
    for i in range(n):
        report({"type": "step", "i": i})
    return n


def raises_user_error(*, report, should_stop):
    raise UserError("The folder cannot be read.", "EACCES")


def crashes(*, report, should_stop):
    return 1 / 0


def waits_for_cancel(*, report, should_stop, started=None):
    if started is not None:
        started.set()
    while not should_stop():
        time.sleep(0.01)
    raise JobCancelled()


def test_finished_with_result_and_keyword_arguments(qtbot, runner):
    job = runner.start(add, 2, 3, name="adding", scale=10)
    with qtbot.waitSignal(job.finished, timeout=5000) as blocker:
        pass
    assert blocker.args == [50]
    assert not job.is_running()
    assert runner.running_jobs() == []


def test_user_error_becomes_its_sentence(qtbot, runner):
    job = runner.start(raises_user_error, name="importing images")
    with qtbot.waitSignal(job.failed, timeout=5000) as blocker:
        pass
    assert blocker.args == ["The folder cannot be read.", "EACCES"]


def test_crash_becomes_a_sentence_with_the_traceback_as_detail(qtbot, runner):
    job = runner.start(crashes, name="importing images")
    with qtbot.waitSignal(job.failed, timeout=5000) as blocker:
        pass
    message, detail = blocker.args
    assert message == "Something went wrong while importing images."
    assert "ZeroDivisionError" in detail and "Traceback" in detail


def test_cancel_ends_within_a_second(qtbot, runner):
    started = threading.Event()
    job = runner.start(waits_for_cancel, name="waiting", started=started)
    assert started.wait(5)
    t0 = time.monotonic()
    with qtbot.waitSignal(job.cancelled, timeout=1000):
        job.cancel()
    assert time.monotonic() - t0 < 1.0
    assert not job.is_running()


def test_events_arrive_in_order_before_finished(qtbot, runner):
    seen, order = [], []
    job = runner.start(counts_to, 3000, name="counting")
    job.event.connect(lambda e: seen.append(e["i"]))
    job.finished.connect(lambda r: order.append(("finished", len(seen))))
    qtbot.waitUntil(lambda: bool(order), timeout=5000)
    assert seen == list(range(3000))
    assert order == [("finished", 3000)]


def test_a_flood_of_progress_is_coalesced_and_the_last_one_arrives(qtbot, runner):
    def floods(*, report, should_stop):
        for i in range(200_000):
            report(progress(i + 1, 200_000, "flooding"))
        return "done"

    received = []
    job = runner.start(floods, name="flooding")
    job.progress.connect(lambda done, total, message: received.append((done, total, message)))
    with qtbot.waitSignal(job.finished, timeout=10000):
        pass
    assert received[-1] == (200_000, 200_000, "flooding")
    assert len(received) < 20_000  # coalesced, not one signal per report


def test_gui_stays_responsive_during_a_flood(qtbot, runner):
    """A heartbeat timer on the GUI thread keeps ticking while a job reports non-stop."""
    from PySide6.QtCore import QTimer

    def floods(*, report, should_stop):
        i = 0
        while not should_stop():
            report({"type": "batch", "i": i})
            i += 1
        raise JobCancelled()

    gaps, last = [], [time.monotonic()]

    def beat():
        now = time.monotonic()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(beat)
    timer.start(10)
    job = runner.start(floods, name="flooding")
    job.event.connect(lambda e: None)
    qtbot.wait(1000)
    timer.stop()
    with qtbot.waitSignal(job.cancelled, timeout=3000):
        job.cancel()
    assert len(gaps) > 20
    assert max(gaps[1:]) < 0.5, f"GUI thread stalled {max(gaps):.3f} s"


def test_shutdown_cancels_every_job_and_leaves_no_thread(qtbot, qapp):
    runner = JobRunner()
    jobs = [runner.start(waits_for_cancel, name=f"job {i}") for i in range(3)]
    cancelled = []
    for job in jobs:
        job.cancelled.connect(lambda: cancelled.append(1))
    assert runner.busyChanged is not None
    t0 = time.monotonic()
    assert runner.shutdown(5.0)
    assert time.monotonic() - t0 < 2.0
    assert len(cancelled) == 3
    assert runner.running_jobs() == []
    assert all(not job.is_running() for job in jobs)


def test_events_must_be_dicts_with_a_type(qtbot, runner):
    def bad(*, report, should_stop):
        report("hello")

    job = runner.start(bad, name="reporting")
    with qtbot.waitSignal(job.failed, timeout=5000) as blocker:
        pass
    assert "TypeError" in blocker.args[1]
