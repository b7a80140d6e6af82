"""Does the window stay responsive while long jobs run? Opens a real MainWindow offscreen with a
10 ms QTimer heartbeat on the GUI thread and measures the gaps between beats while it drives:

  idle        nothing running (the machine's own noise: compare the phases with it)
  import      a few hundred generated images through window.imports.import_paths
  scratch     a tiny training from scratch (weights "none"), through the Train view's
              start_training() when mbv2gui/gui/train/train_view.py has it, else window.runner.start
  pretrained  a tiny training with a weights file (a random-weights backbone, made in a
              subprocess so this process imports no TensorFlow itself): the feature-cache path
  retrain     the same again, feature cache warm (what "retrain as you label" costs)
  predict     a dozen images dropped on the Predict view: cards with top classes and Grad-CAM
              heat maps (the model in the engine process)
  batch       the image folder predicted into the Predict view's batch table
  export      the last run exported to TFLite and checked with its runtime (in the engine)
Trainings, prediction, Grad-CAM and export run in the engine process (issue 16), so the window
process should never import TensorFlow; each phase also reports the window's and the engine's
resident memory (RSS) after it, and the window's before it.
  scratch_subprocess, pretrained_subprocess (not run by default): the same trainings with
              TensorFlow in a child process (bench/subprocess_training.py), for comparison;
              run them alone (`--phases idle,scratch_subprocess,pretrained_subprocess`) so
              that this process has not imported TensorFlow

Prints one JSON object: per phase the longest gap, p99, stalls over 100 ms, seconds, and the
ratio of the longest gap to the idle one. The machine is shared (2 cores, other processes):
read the numbers against the idle baseline and run it more than once.

    python bench/bench_responsiveness.py                   # /tmp/mbv2gui-bench-responsive
    python bench/bench_responsiveness.py --images 300 --trace /tmp/stalls.txt

Where a stall comes from: each stall over 100 ms is counted as `worker_ran` (the job threads
used the CPU meanwhile: they held the GIL) or `not_scheduled` (the process got no CPU: machine
load, or our own TensorFlow threads), from the threads' CPU clocks; Python's garbage
collections over 30 ms are recorded (gc.callbacks) and matched with the stalls. For stacks,
`--trace FILE` makes faulthandler dump every thread when a beat is late (it reads other threads'
frames without the GIL, so it can crash the process: diagnosis only). `--profile-worker FILE`
logs the worker's long C calls that overlap stalls (slows the worker).
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MBV2GUI_SETTINGS_DIR", "/tmp/mbv2gui-bench-settings")

from PySide6.QtCore import QEventLoop, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import mbv2gui.gui  # noqa: E402,F401  (the PySide guard)

BEAT_MS = 10


class Heartbeat:
    """A QTimer on the GUI thread; `gaps` are the times between its beats (ms).

    Each stall over `stall_ms` is classified by what the process's other Python threads (the
    job workers) did meanwhile, read from their CPU clocks (safe: no frame walking):
      worker_ran      they used the CPU for at least half the stall: the GUI thread was ready
                      but a worker held the GIL (Python, or C code that does not release it,
                      or a garbage collection in that thread)
      not_scheduled   they did not: the process as a whole got no CPU (other processes on the
                      machine, or our own TensorFlow compute threads), or the GUI thread was
                      busy itself
    With `trace_file`, faulthandler also dumps every thread's stack when a beat is late (see
    --trace; this walks other threads' frames without the GIL and can crash the process)."""

    def __init__(self, trace_file=None, stall_ms: int = 100):
        self.gaps: list[float] = []
        self.stall_log: list[tuple[float, float, str]] = []
        self.worker_ran = self.not_scheduled = 0
        self.last = time.perf_counter()
        self.trace_file, self.stall_s = trace_file, stall_ms / 1000
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(BEAT_MS)
        self.timer.timeout.connect(self.beat)
        self.phase = ""
        self._main = threading.main_thread().ident
        self._cpu = self._workers_cpu()

    def _workers_cpu(self) -> float:
        total = 0.0
        for ident in sys._current_frames():
            if ident != self._main:
                try:
                    total += time.clock_gettime(time.pthread_getcpuclockid(ident))
                except (OSError, AttributeError, OverflowError):
                    pass  # the thread just ended, or no per-thread clocks on this platform
        return total

    def start(self) -> None:
        self.last = time.perf_counter()
        self.timer.start()
        self._arm()

    def stop(self) -> None:
        self.timer.stop()
        if self.trace_file:
            faulthandler.cancel_dump_traceback_later()

    def _arm(self) -> None:
        if self.trace_file:
            faulthandler.dump_traceback_later(self.stall_s, repeat=False,
                                              file=self.trace_file, exit=False)

    def beat(self) -> None:
        now = time.perf_counter()
        cpu = self._workers_cpu()
        gap = (now - self.last) * 1000
        self.gaps.append(gap)
        if gap > self.stall_s * 1000:
            self.stall_log.append((self.last, now, self.phase))
            ran = (cpu - self._cpu) / max(1e-9, now - self.last)
            if ran >= 0.5:
                self.worker_ran += 1
            else:
                self.not_scheduled += 1
            if self.trace_file:
                self.trace_file.write(f"--- [{self.phase}] the beat came {gap:.0f} ms after the "
                                      f"last; the workers ran {ran:.0%} of that time (the dump "
                                      "above, if any, is from this stall)\n")
                self.trace_file.flush()
        self.last, self._cpu = now, cpu
        self._arm()

    def take(self) -> list[float]:
        gaps, self.gaps = self.gaps, []
        return gaps


class WorkerProfiler:
    """Records the C calls of the worker thread that took longer than `min_ms` (with the Python
    line that made them): a C call that holds the GIL that long stalls the GUI thread. Calls
    that release the GIL (TensorFlow running ops, file reads) show up too; overlap them with
    the stalls (`stall_log`) to tell the two apart."""

    def __init__(self, min_ms: float = 40):
        self.min_s, self.calls, self.stack = min_ms / 1000, [], []

    def __call__(self, frame, event, arg):
        if event == "c_call":
            self.stack.append((time.perf_counter(), arg, frame))
        elif event in ("c_return", "c_exception") and self.stack:
            start, fn, caller = self.stack.pop()
            end = time.perf_counter()
            if end - start >= self.min_s:
                name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", repr(fn))
                module = getattr(fn, "__module__", None) or ""
                self.calls.append((start, end, f"{module}.{name}",
                                   f"{caller.f_code.co_filename}:{caller.f_lineno} "
                                   f"({caller.f_code.co_name})"))

    def wrap(self, fn):
        def profiled(*args, **kwargs):
            sys.setprofile(self)
            try:
                return fn(*args, **kwargs)
            finally:
                sys.setprofile(None)
        return profiled


class GcPauses:
    """Python's cyclic garbage collector stops every thread while it runs (one C call, GIL
    held); with TensorFlow's hundreds of thousands of objects a full collection takes 100+ ms.
    Records every collection over `min_ms` with its generation and the thread it ran in."""

    def __init__(self, min_ms: float = 30):
        import gc
        import threading

        self.min_s, self.pauses, self._start, self._threading = min_ms / 1000, [], {}, threading
        gc.callbacks.append(self)

    def __call__(self, phase, info):
        now = time.perf_counter()
        ident = self._threading.get_ident()
        if phase == "start":
            self._start[ident] = now
        elif ident in self._start and now - self._start[ident] >= self.min_s:
            self.pauses.append((self._start.pop(ident), now, info["generation"],
                                self._threading.current_thread().name))

    def overlapping(self, begin: float, end: float) -> list:
        return [p for p in self.pauses if p[0] < end and p[1] > begin]


def unfrozen_after_tf(fn):
    def wrapped(*args, **kwargs):
        import gc

        from mbv2gui.core.training.tfsetup import keras

        keras()
        gc.unfreeze()
        return fn(*args, **kwargs)
    return wrapped


def niced(fn, nice: int):
    """`fn`, run with its thread's nice value raised by `nice` (Linux: nice is per thread, and
    threads the job creates, such as TensorFlow's pools, inherit it)."""
    import threading

    def wrapped(*args, **kwargs):
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)
        return fn(*args, **kwargs)
    return wrapped


def summary(gaps: list[float], seconds: float) -> dict:
    ordered = sorted(gaps)
    if not ordered:
        return {"beats": 0, "seconds": round(seconds, 2)}
    return {
        "seconds": round(seconds, 2),
        "beats": len(ordered),
        "stall_max_ms": round(ordered[-1], 1),
        "stall_p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
        "stall_median_ms": round(statistics.median(ordered), 1),
        "stalls_over_50ms": sum(1 for g in ordered if g > 50),
        "stalls_over_100ms": sum(1 for g in ordered if g > 100),
        "worst_5_ms": [round(g, 1) for g in ordered[-5:][::-1]],
    }


def rss_mb(pid="self") -> float | None:
    """A process's resident memory now (Linux /proc), in MB; None when unknown."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def wait(app, condition, timeout_s: float) -> bool:
    """Runs a real event loop (as app.exec() would) until `condition()` or the timeout;
    the condition is polled every 50 ms."""
    if condition():
        return True
    loop = QEventLoop()
    deadline = time.perf_counter() + timeout_s
    poll = QTimer()
    poll.setInterval(50)
    poll.timeout.connect(lambda: (condition() or time.perf_counter() > deadline) and loop.quit())
    poll.start()
    loop.exec()
    poll.stop()
    return condition()


def wait_for_job(app, job, timeout_s: float):
    outcome = {}
    job.finished.connect(lambda result: outcome.update(result=result))
    job.failed.connect(lambda text, detail: outcome.update(error=f"{text}\n{detail}"))
    job.cancelled.connect(lambda: outcome.update(error="cancelled"))
    wait(app, lambda: bool(outcome), timeout_s)
    if "result" not in outcome:
        raise RuntimeError(outcome.get("error", f"the job did not end in {timeout_s} s"))
    return outcome["result"]


def make_weights(path: Path, alpha: float, size: int) -> None:
    """The random-weights backbone file, made in a subprocess: this process must not import
    TensorFlow on its own (the worker's import of it is part of what is measured)."""
    if path.is_file():
        return
    code = ("import sys; sys.path.insert(0, sys.argv[1]);"
            "from helpers_images import random_backbone_weights as r;"
            "r(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]))")
    subprocess.run([sys.executable, "-c", code, str(Path(__file__).resolve().parents[1] / "tests"),
                    str(path), str(alpha), str(size)], check=True,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, capture_output=True)


def train_view_starter(window):
    """A callable that starts training through the Train view (None without one)."""
    try:
        import mbv2gui.gui.train.train_view as tv  # noqa: F401
    except ImportError:
        return None
    if not hasattr(getattr(tv, "TrainView", None), "start_training"):
        return None
    index = window.VIEW_NAMES.index("Train")

    def start(config):
        window.show_view(index)
        view = window._ensure_view(index)
        before = set(window.runner.running_jobs())
        form = getattr(view, "form", None)
        if form is not None and hasattr(form, "set_config"):
            form.set_config(config)
            started = view.start_training()
        else:
            started = view.start_training(config)
        if started is False:
            raise RuntimeError("the Train view did not start training: "
                               + "; ".join(getattr(view, "problem_texts", lambda: [])()))
        return next(j for j in window.runner.running_jobs() if j not in before)
    return start


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?",
                        default=Path("/tmp/mbv2gui-bench-responsive"))
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--size", type=int, default=32, help="training image size (px)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--phases",
                        default="idle,import,scratch,pretrained,retrain,predict,batch,export")
    parser.add_argument("--trace", type=Path,
                        help="diagnosis: dump every thread's stack into this file when a beat "
                             "is over 100 ms late (faulthandler; may crash the process)")
    parser.add_argument("--profile-worker", type=Path,
                        help="log the worker's long C calls that overlap GUI stalls to this file "
                             "(slows the worker; starts training through window.runner)")
    parser.add_argument("--nice-worker", type=int, default=0,
                        help="experiment (Linux): lower the training thread's CPU priority by "
                             "this much (its TensorFlow threads inherit it); starts training "
                             "through window.runner")
    parser.add_argument("--gc-unfreeze", action="store_true",
                        help="experiment: undo core/training/tfsetup.py's gc.freeze() right after the "
                             "worker imports TensorFlow (collections during the import itself "
                             "stay off); starts training through window.runner")
    parser.add_argument("--no-train-view", action="store_true",
                        help="start training through window.runner even if a Train view exists")
    args = parser.parse_args(argv)
    phases = args.phases.split(",")
    if "import" not in phases:  # training needs the images
        phases.insert(1 if phases[:1] == ["idle"] else 0, "import")

    shutil.rmtree(args.folder, ignore_errors=True)
    args.folder.mkdir(parents=True)
    os.environ["XDG_CACHE_HOME"] = str(args.folder / "cache")
    from helpers_images import DEFAULT_CLASSES, make_class_tree

    per_class = max(2, args.images // len(DEFAULT_CLASSES))
    make_class_tree(args.folder / "images", per_class=per_class, size=48)
    weights = args.folder / "backbone.weights.h5"
    if any(name.startswith(("pretrained", "retrain")) for name in phases):
        make_weights(weights, 0.35, args.size)
    modules_before = "tensorflow" in sys.modules

    from mbv2gui.core.training.config import TrainConfig

    from mbv2gui.core.training.train import train
    from mbv2gui.gui.shell.app import create_application
    from mbv2gui.gui.shell.main_window import MainWindow

    app = QApplication.instance() or create_application()
    window = MainWindow(app.windowIcon())
    window.resize(1180, 760)
    window.show()
    app.processEvents()
    window.projects.create_project(str(args.folder / "bench.mbv2"))
    project = window.context.project
    profiler = WorkerProfiler() if args.profile_worker else None
    via_view = (None if (args.no_train_view or profiler or args.nice_worker or args.gc_unfreeze)
                else train_view_starter(window))

    trace = open(args.trace, "w") if args.trace else None  # noqa: SIM115
    heart = Heartbeat(trace)
    result: dict = {"images": per_class * len(DEFAULT_CLASSES), "image_size": args.size,
                    "epochs": args.epochs, "heartbeat_interval_ms": BEAT_MS,
                    "tensorflow_in_gui_process_before": modules_before,
                    "phases": {}}
    if trace:  # a crash (say, in a C extension) leaves every thread's stack in the trace
        faulthandler.enable(file=trace, all_threads=True)
    gc_pauses = GcPauses()
    heart.start()

    def engine_rss():
        engine = getattr(window.runner, "_engine", None)
        pid = engine.pid() if engine is not None else None
        return rss_mb(pid) if pid else None

    def phase(name, drive):
        heart.phase = name
        app.processEvents()
        window_before = rss_mb()
        heart.take()
        start = time.perf_counter()
        heart.worker_ran = heart.not_scheduled = 0
        stalls_before = len(heart.stall_log)
        extra = drive() or {}
        seconds = time.perf_counter() - start
        result["phases"][name] = {**summary(heart.take(), seconds), **extra}
        pauses = gc_pauses.overlapping(start, time.perf_counter())
        stalls = heart.stall_log[stalls_before:]
        result["phases"][name].update(
            gc_pauses_over_30ms=len(pauses),
            gc_pause_max_ms=round(max((p[1] - p[0] for p in pauses), default=0) * 1000, 1),
            stalls_over_100ms_during_gc=sum(1 for b, e, _ in stalls if gc_pauses.overlapping(b, e)))
        result["phases"][name].update(stalls_over_100ms_worker_ran=heart.worker_ran,
                                      stalls_over_100ms_not_scheduled=heart.not_scheduled,
                                      window_rss_before_mb=window_before,
                                      window_rss_after_mb=rss_mb(), engine_rss_mb=engine_rss())

    def start_training(config):
        if via_view:
            return via_view(config)
        fn = profiler.wrap(train) if profiler else train
        if args.nice_worker:
            fn = niced(fn, args.nice_worker)
        if args.gc_unfreeze:
            fn = unfrozen_after_tf(fn)
        return window.runner.start(fn, str(project.path), config, name="training")

    last_run = {}

    def run_training(config):
        run = wait_for_job(app, start_training(config), 900)
        last_run["dir"] = run.run_dir
        return {"train_seconds": run.metrics.get("seconds"),
                "epochs_run": run.metrics.get("epochs"),
                "started_via": "TrainView.start_training" if via_view else "window.runner.start"
                + (f" (thread nice +{args.nice_worker})" if args.nice_worker else "")
                + (" (gc.unfreeze after TF import: as before the fix)" if args.gc_unfreeze
                   else "")}

    if via_view:  # the view itself is the window's memory, not the training's: build it first
        window._ensure_view(window.VIEW_NAMES.index("Train"))
        app.processEvents()
    for name in phases:
        if name == "idle":
            phase("idle", lambda: wait(app, lambda: False, 3))
        elif name == "import":
            total = result["images"]

            def drive_import():
                window.imports.import_paths([str(args.folder / "images")])
                wait(app, lambda: (project.image_count() >= total
                                   and not window.imports.is_running()), 300)
                return {"imported": project.image_count()}
            phase("import", drive_import)
        elif name == "scratch":
            phase("scratch", lambda: run_training(TrainConfig(
                image_size=args.size, alpha=0.35, weights="none", epochs=args.epochs,
                batch_size=16)))
        elif name in ("pretrained", "retrain"):
            phase(name, lambda: run_training(TrainConfig(
                image_size=args.size, alpha=0.35, weights=str(weights), epochs=max(5, args.epochs),
                batch_size=16)))
        elif name in ("predict", "batch"):
            from mbv2gui.gui.shell.main_window import PREDICT

            def drive_predict(name=name):
                photos = sorted((args.folder / "images").rglob("*.png"))[:12]
                window.predict_paths([str(args.folder / "images")] if name == "batch"
                                     else [str(p) for p in photos])
                view = window._ensure_view(PREDICT)
                wait(app, lambda: not view.is_busy(), 600)
                return {"predicted": "the image folder" if name == "batch" else len(photos)}
            phase(name, drive_predict)
        elif name == "export" and last_run:
            from mbv2gui.core.export import export_run

            def drive_export():
                job = window.runner.start_in_engine(export_run, str(last_run["dir"]), "tflite",
                                                    str(args.folder / "export"), name="exporting")
                exported = wait_for_job(app, job, 600)
                return {"exported": "tflite",
                        "top1_agreement": float(exported.agreement.get("top1_agreement") or 0)}
            phase("export", drive_export)
        elif name in ("scratch_subprocess", "pretrained_subprocess"):
            from subprocess_training import train_in_subprocess

            def drive_subprocess(name=name):
                config = TrainConfig(image_size=args.size, alpha=0.35, epochs=args.epochs,
                                     batch_size=16, weights="none" if name.startswith("scratch")
                                     else str(weights))
                if name.startswith("pretrained"):
                    config.epochs = max(5, args.epochs)
                job = window.runner.start(train_in_subprocess, str(project.path),
                                          config.to_dict(), name="training")
                run = wait_for_job(app, job, 900)
                return {"train_seconds": run.metrics.get("seconds"),
                        "epochs_run": run.metrics.get("epochs"),
                        "started_via": "window.runner.start(train_in_subprocess)"}
            phase(name, drive_subprocess)
    heart.stop()

    idle = result["phases"].get("idle", {}).get("stall_max_ms")
    for name, values in result["phases"].items():
        if idle and values.get("stall_max_ms") is not None:
            values["max_vs_idle_max"] = round(values["stall_max_ms"] / idle, 2)
    result["target"] = "no stall over 100 ms"
    result["met"] = all(v.get("stalls_over_100ms", 0) == 0 for v in result["phases"].values())
    result["tensorflow_in_gui_process_after"] = "tensorflow" in sys.modules
    result["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    trained = [v for k, v in result["phases"].items() if k in ("scratch", "pretrained", "retrain")]
    if trained and trained[0].get("window_rss_before_mb"):
        # Issue 16's target: the window's memory after the trainings within 10% of before.
        result["window_rss_after_training_vs_before"] = round(
            trained[-1]["window_rss_after_mb"] / trained[0]["window_rss_before_mb"], 3)
    result["cpu_count"] = os.cpu_count()
    result["load_average_1min"] = round(os.getloadavg()[0], 2)
    try:  # the share of time runnable tasks waited for a CPU lately (Linux PSI)
        with open("/proc/pressure/cpu") as pressure:
            result["cpu_pressure_some_avg60"] = float(pressure.readline().split()[2].split("=")[1])
    except (OSError, IndexError, ValueError):
        pass
    if profiler:
        with open(args.profile_worker, "w") as out:
            for begin, end, name in heart.stall_log:
                out.write(f"[{name}] GUI stall {1000 * (end - begin):.0f} ms\n")
                for start, stop, fn, where in profiler.calls:
                    if start < end and stop > begin:
                        out.write(f"    {1000 * (stop - start):6.0f} ms  {fn}  from {where}\n")
    print(json.dumps(result), flush=True)  # before closing: the numbers are in, whatever exit does
    window.runner.shutdown(10)
    window._closing = True
    window.close()
    return result


if __name__ == "__main__":
    main()
