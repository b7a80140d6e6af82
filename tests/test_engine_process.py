"""TensorFlow jobs run in the engine process (mbv2gui.core.engine): a training started from the
Train view runs there (another pid), its curves fill, Stop works; a SIGKILL of the engine
mid-training leaves the window usable with a clear sentence and the project intact, and the next
training succeeds in a fresh engine; a job deaf to Stop is ended with its engine; the window
process never imports TensorFlow; no engine outlives its window, closed or killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import engine_jobs
from mbv2gui.core import engine_client
from mbv2gui.gui.shell.context import AppContext
from mbv2gui.gui.shell.jobrunner import JobRunner
from mbv2gui.gui.train.train_plots import TrainPlots
from mbv2gui.gui.train.train_view import TrainView
from test_train_view import TINY, make_project

SCRIPT = Path(__file__).with_name("engine_window_script.py")
TIMEOUT_MS = 120_000


def process_gone(pid: int) -> bool:
    """True when `pid` no longer runs (absent, or a zombie nobody reaped yet)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    state = next((line for line in status.splitlines() if line.startswith("State:")), "")
    return "Z" in state.split()[1:2]


def wait_gone(pid: int, timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process_gone(pid):
            return True
        time.sleep(0.1)
    return process_gone(pid)


@pytest.fixture(scope="module")
def runner(qapp):
    """One runner (one engine, restarted only where a test ends it) for the quick jobs."""
    runner = JobRunner()
    yield runner
    runner.shutdown(10.0)


def run_job(qtbot, runner, fn, *args, **kwargs):
    """Starts `fn` in the engine and waits for its end: ("finished", result) | ("failed",
    (message, detail)) | ("cancelled", None), with its events."""
    job = runner.start_in_engine(fn, *args, name="testing", **kwargs)
    events, ends = [], []
    job.event.connect(events.append)
    job.finished.connect(lambda result: ends.append(("finished", result)))
    job.failed.connect(lambda text, detail: ends.append(("failed", (text, detail))))
    job.cancelled.connect(lambda: ends.append(("cancelled", None)))
    qtbot.waitUntil(lambda: bool(ends), timeout=TIMEOUT_MS)
    return ends[0], events


def test_a_job_runs_in_the_engine_and_keeps_the_job_signals(qtbot, runner):
    job = runner.start_in_engine(engine_jobs.whoami, name="testing", extra=0)
    progress, results = [], []
    job.progress.connect(lambda *args: progress.append(list(args)))
    job.finished.connect(results.append)
    qtbot.waitUntil(lambda: bool(results), timeout=TIMEOUT_MS)
    assert progress == [[1, 2, "half"]]
    result = results[0]
    assert result["pid"] != os.getpid() and result["pid"] == runner.engine.pid()
    assert not job.is_running()

    # The same engine serves the next job; its first event names it.
    (kind, result), events = run_job(qtbot, runner, engine_jobs.whoami, extra=1)
    assert kind == "finished" and result["pid"] == runner.engine.pid() + 1
    assert events[0] == {"type": "engine", "pid": runner.engine.pid()}
    assert runner.engine.starts == 1

    (kind, (text, detail)), _ = run_job(qtbot, runner, engine_jobs.says_no)
    assert (kind, text, detail) == ("failed", "The file x.jpg is damaged; remove it and try "
                                    "again.", "detail here")
    (kind, (text, detail)), _ = run_job(qtbot, runner, engine_jobs.crashes)
    assert kind == "failed" and text == "Something went wrong while testing."
    assert "ZeroDivisionError" in detail
    assert runner.engine.starts == 1


def test_a_function_the_engine_cannot_import_is_refused(qtbot, runner):
    def local(*, report, should_stop):
        return 1

    (kind, (text, detail)), _ = run_job(qtbot, runner, local)
    assert kind == "failed" and "not a module-level function" in detail


def test_big_arrays_travel_as_files_and_runs_keep_their_model(qtbot, runner, tmp_path):
    from mbv2gui.core.engine import ARRAY_FILE_BYTES
    from mbv2gui.core.runs import Run
    from mbv2gui.core.training.config import TrainConfig

    n = ARRAY_FILE_BYTES // 4 + 10
    (kind, result), events = run_job(qtbot, runner, engine_jobs.arrays, n=n)
    assert kind == "finished"
    assert result["big"][0].tolist() == list(range(n)) and result["small"].tolist() == [0, 1, 2]
    heatmap = next(e for e in events if e["type"] == "rows")["heatmap"]
    assert heatmap.shape == (n,) and float(heatmap.max()) == 7.0
    folder = runner.engine._generation.array_folder
    assert os.listdir(folder) == []  # every file was loaded and removed

    # A Run argument: the engine keeps its own copy (and so its loaded model) between jobs,
    # and a loaded model in the window's copy never crosses the pipe.
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "model.keras").write_bytes(b"stand-in")
    run = Run(run_dir, TrainConfig(), ["a", "b"], _model=object())
    (_, first), _ = run_job(qtbot, runner, engine_jobs.model_identity, run)
    (_, second), _ = run_job(qtbot, runner, engine_jobs.model_identity, run)
    assert first == second and first != id(run._model)
    os.utime(run_dir / "model.keras", ns=(1, 1))  # a changed model file is loaded afresh
    (_, third), _ = run_job(qtbot, runner, engine_jobs.model_identity, run)
    assert third != first


def test_stop_is_cooperative_first_then_ends_a_deaf_engine(qtbot, runner, monkeypatch):
    job = runner.start_in_engine(engine_jobs.waits_for_stop, name="testing")
    qtbot.waitUntil(lambda: runner.engine.pid() is not None, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(job.event, timeout=TIMEOUT_MS):
        pass
    first_pid = runner.engine.pid()
    with qtbot.waitSignal(job.cancelled, timeout=5000):
        job.cancel()
    assert runner.engine.pid() == first_pid  # a cooperative stop keeps the engine

    monkeypatch.setattr(engine_client, "STOP_GRACE_S", 1.0)
    job = runner.start_in_engine(engine_jobs.deaf_to_stop, name="testing")
    with qtbot.waitSignal(job.event, timeout=TIMEOUT_MS):
        pass
    with qtbot.waitSignal(job.failed, timeout=15_000) as failed:
        job.cancel()
    assert failed.args[0] == engine_client.ENDED_SENTENCE
    assert "SIGKILL" in failed.args[1]
    assert wait_gone(first_pid)

    (kind, result), _ = run_job(qtbot, runner, engine_jobs.whoami)
    assert kind == "finished" and result["pid"] not in (first_pid, os.getpid())


def test_an_idle_engine_is_ended_and_the_next_job_starts_a_new_one(qtbot, qapp):
    runner = JobRunner()
    runner.engine.idle_exit_s = 0.5
    try:
        (kind, first), _ = run_job(qtbot, runner, engine_jobs.whoami)
        assert kind == "finished"
        qtbot.waitUntil(lambda: runner.engine.pid() is None, timeout=15_000)
        assert wait_gone(first["pid"])
        (kind, second), _ = run_job(qtbot, runner, engine_jobs.whoami)
        assert kind == "finished" and second["pid"] != first["pid"]
        assert runner.engine.starts == 2
    finally:
        runner.shutdown(10.0)


def test_a_crash_that_is_not_a_kill_says_crashed(qtbot, runner):
    job = runner.start_in_engine(engine_jobs.waits_for_stop, name="finding suggestions")
    with qtbot.waitSignal(job.event, timeout=TIMEOUT_MS) as first:
        pass
    pid = first.args[0]["pid"]
    with qtbot.waitSignal(job.failed, timeout=15_000) as failed:
        os.kill(pid, signal.SIGABRT)
    assert failed.args[0].startswith("Finding suggestions stopped because the engine crashed; "
                                     "your labels are safe")
    assert "SIGABRT" in failed.args[1]


def points(view, series):
    return TrainPlots.points(getattr(view.plots, series))


def test_training_from_the_train_view_runs_in_the_engine_survives_its_kill(qtbot, tmp_path):
    context = AppContext()
    context.jobs = JobRunner()
    context.set_project(make_project(tmp_path))
    view = TrainView(context)
    qtbot.addWidget(view)
    view.show()
    labels_before = [(i.path, i.class_id) for i in context.project.images()]
    engine_pids: list[int] = []

    def start(epochs: int) -> None:
        view.form.set_values(epochs=epochs, **TINY)
        assert view.start_training()
        context.jobs.running_jobs()[0].event.connect(
            lambda event: event["type"] == "engine" and engine_pids.append(event["pid"]))

    # Start, watch the curves fill, Stop: the best model so far is kept.
    start(300)
    qtbot.waitUntil(lambda: len(points(view, "val_loss")[0]) >= 1, timeout=TIMEOUT_MS)
    assert engine_pids and engine_pids[0] != os.getpid()
    assert points(view, "batch_loss")[0]
    with qtbot.waitSignal(view.trainingEnded, timeout=60_000) as ended:
        view.stop_training()
    assert ended.args == ["finished"], view.result.text()
    assert len(context.project.runs()) == 1
    assert context.project.runs()[0].metrics["stopped_early_by_user"]

    # The engine is killed mid-training (as the out-of-memory killer would).
    start(300)
    qtbot.waitUntil(lambda: len(points(view, "batch_loss")[0]) >= 1, timeout=TIMEOUT_MS)
    assert engine_pids[1] == engine_pids[0]  # the same engine served the second training
    with qtbot.waitSignal(view.trainingEnded, timeout=30_000) as ended:
        os.kill(engine_pids[1], signal.SIGKILL)
    assert ended.args == ["failed"]
    assert view.result.text().startswith("Training stopped because the engine ran out of "
                                         "memory (the system ended it); your labels are safe; "
                                         "the last finished run is kept.")
    assert view.start_button.text() == "Start Training" and view.start_button.isEnabled()
    assert [(i.path, i.class_id) for i in context.project.images()] == labels_before
    assert len(context.project.runs()) == 1  # nothing half-saved from the killed training

    # The next training starts a fresh engine and succeeds.
    start(1)
    with qtbot.waitSignal(view.trainingEnded, timeout=TIMEOUT_MS) as ended:
        pass
    assert ended.args == ["finished"], view.result.text()
    assert engine_pids[2] not in (engine_pids[0], os.getpid())
    assert len(context.project.runs()) == 2 and context.jobs.engine.starts == 2

    assert context.jobs.shutdown(10.0)
    assert wait_gone(engine_pids[2])
    context.set_project(None)


def _script(mode: str, folder: Path) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, str(SCRIPT), mode, str(folder)], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=environment)


def test_a_window_process_trains_and_predicts_without_tensorflow_and_leaves_no_engine(
        tmp_path):
    process = _script("train", tmp_path)
    try:
        output, _ = process.communicate(timeout=300)
    finally:
        process.kill()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert len(lines) == 2, output
    trained, closed = lines
    assert trained["ended"] == ["finished"] and trained["runs"] == 1, trained
    assert len(trained["cards"]) == 2, trained
    for card in trained["cards"]:
        assert card["error"] is None and card["label"] and len(card["heatmap"]) == 2, card
    assert trained["engine_pid"] not in (None, trained["window_pid"])
    assert trained["tensorflow"] is False and trained["keras"] is False
    assert closed == {"closed": True} and process.returncode == 0
    assert wait_gone(trained["engine_pid"], 5.0)


def test_the_engine_exits_when_its_window_is_killed(tmp_path):
    process = _script("hold", tmp_path)
    try:
        held = json.loads(process.stdout.readline())
        assert held["engine_pid"] != held["window_pid"]
        assert not process_gone(held["engine_pid"])
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        assert wait_gone(held["engine_pid"], 10.0), "the engine outlived its killed window"
        assert not Path(held["array_folder"]).exists()  # its temporary folder went with it
    finally:
        process.kill()
