"""50,000 images end to end (issue 19): import, open, the gallery, a from-scratch training with a
time budget, a pretrained-path training (features + head), evaluation and suggestions for 5,000
unlabeled images, each step in its own process, timed, with its peak RSS. Prints JSON.

The full run (about half an hour on 2 quiet cores, most of it the scratch training's 15-minute
budget plus the decoding of 45,000 images before it):

    .venv/bin/python bench/bench_50k.py /tmp/mbv2gui-bench-50k

A small try: `... bench/bench_50k.py /tmp/mbv2gui-bench-50k-small -n 2000 --budget 60s`.

The images are variants of cifar10-5k's 5,000 real photos (bench/real_looking_images.py), made
once and reused; the project (FOLDER/bench.mbv2) is made again on every run. A tenth of the
images (every tenth id: 5,000 of 50,000) is unlabeled through the store's API after the import,
for the suggestions. Above 5,000 images the variants of one photo fall in both the training and
the validation images: read the accuracies as a check that training worked, not as a score. 96 px, alpha 0.35. The pretrained path's weights file is a random-init
MobileNetV2 backbone in Keras' legacy h5 ImageNet layout (tests/helpers_images.py): there is no
network here, so ImageNet's real file cannot be downloaded; its speed and memory are what
ImageNet's would cost, its accuracy is not. Each step's peak RSS is its process's (and any
children's) maximum resident set, read with os.wait4; "met" is every step under 3,000 MB.
A step that fails stops the bench: the JSON so far, a sentence, exit code 1.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "tests")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

STEPS = ("import", "open", "gallery", "train_scratch", "train_pretrained", "evaluate",
         "suggestions")
RSS_LIMIT_MB = 3000
IMAGE_SIZE, ALPHA = 96, 0.35
WEIGHTS_NOTE = ("a random-init MobileNetV2 backbone saved in Keras' legacy h5 ImageNet layout: "
                "no network here, real ImageNet weights cannot be downloaded (speed and memory "
                "as ImageNet's, accuracy not)")


def project_path(folder: Path) -> Path:
    return folder / "bench.mbv2"  # the name bench_gallery.py's ensure_project reuses


def run_folder(folder: Path, name: str) -> Path:
    from mbv2gui.core.store.sidecar import runs_folder

    return runs_folder(project_path(folder)) / name


class Phases:
    """A job's `report`: when each phase began, and its info messages (the budget's sentence)."""

    def __init__(self):
        self.started, self.marks, self.messages = time.perf_counter(), {}, []

    def __call__(self, event: dict) -> None:
        if event["type"] == "phase":
            self.marks.setdefault(event["phase"], time.perf_counter())
        elif event["type"] == "message":
            self.messages.append(event["text"])

    def seconds(self) -> dict:
        """Each phase's seconds, up to the next phase's start or now."""
        ordered = sorted(self.marks.items(), key=lambda item: item[1]) + [("", time.perf_counter())]
        return {name: round(end - begin, 1)
                for (name, begin), (_, end) in zip(ordered, ordered[1:])}


# ----------------------------------------------------------------- the steps, one per process
def step_import(folder: Path, args) -> dict:
    from mbv2gui.core.files.importer import import_paths
    from mbv2gui.core.store.project import Project, sidecar_for

    path = project_path(folder)
    for old in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        old.unlink(missing_ok=True)
    shutil.rmtree(sidecar_for(path), ignore_errors=True)
    Project.create(path).close()
    start = time.perf_counter()
    summary = import_paths(path, [folder / "images"], lambda event: None, lambda: False)
    seconds = time.perf_counter() - start
    if len(summary.added_ids) != args.count:
        raise SystemExit(f"The import added {len(summary.added_ids)} of {args.count} images: "
                         f"{summary.sentence()}")
    start = time.perf_counter()
    project = Project.open(path)
    try:  # every tenth image unlabeled, for the suggestions step
        unlabeled = sorted(summary.added_ids)[::10]
        project.label_images(unlabeled, None)
    finally:
        project.close()
    return {"images": len(summary.added_ids), "unlabeled": len(unlabeled),
            "import_seconds": round(seconds, 2),
            "images_per_second": round(len(summary.added_ids) / seconds, 1),
            "unlabel_seconds": round(time.perf_counter() - start, 2)}


def step_open(folder: Path, args) -> dict:
    from mbv2gui.core.files.filecheck import check_files
    from mbv2gui.core.store.project import Project

    start = time.perf_counter()
    project = Project.open(project_path(folder))
    count = project.image_count()
    project.close()
    opened = time.perf_counter()
    check = check_files(project_path(folder), lambda event: None, lambda: False)
    return {"images": count, "open_seconds": round(opened - start, 3),
            "file_check_seconds": round(time.perf_counter() - opened, 2),
            "file_check_counts": check["counts"]}


def step_gallery(folder: Path, args) -> dict:
    import contextlib
    import io

    from mbv2gui.core.store.project import Project

    project = Project.open(project_path(folder))
    count = project.image_count()
    project.close()
    import bench_gallery  # offscreen Qt; its ensure_project reuses our project at this count

    with contextlib.redirect_stdout(io.StringIO()):
        result = bench_gallery.main([str(folder), "-n", str(count), "--cold"])
    if result["project_source"] != "reused":
        raise SystemExit("The gallery bench did not reuse the imported project.")
    keys = ("images", "first_paint_ms", "first_screen_thumbnails_ms", "stall_max_ms",
            "stall_p99_ms", "stalls_over_100ms", "idle_stall_max_ms", "scroll_seconds",
            "rows_reached", "thumbnails_made_while_scrolling", "label_key_ms_max")
    return {key: result[key] for key in keys}


def training(folder: Path, name: str, config) -> dict:
    from mbv2gui.core.training.train import train

    phases = Phases()
    run = train(project_path(folder), config, phases, lambda: False,
                run_dir=run_folder(folder, name))
    metrics = run.metrics
    return {"phase_seconds": phases.seconds(), "epochs": len(run.history.get("epoch", [])),
            "val_accuracy": metrics.get("val_accuracy"),
            "test_accuracy": metrics.get("test_accuracy"),
            "time_budget": metrics.get("time_budget"),
            "budget_messages": [m for m in phases.messages if "budget" in m]}


def step_train_scratch(folder: Path, args) -> dict:
    from mbv2gui.core.training.config import TrainConfig

    config = TrainConfig(image_size=IMAGE_SIZE, alpha=ALPHA, weights="none",
                         time_budget_s=args.budget)
    return {"budget_s": args.budget, **training(folder, "bench-scratch", config)}


def step_train_pretrained(folder: Path, args) -> dict:
    from helpers_images import imagenet_style_weights
    from mbv2gui.core.training.config import TrainConfig

    start = time.perf_counter()
    name = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{ALPHA}_{IMAGE_SIZE}_no_top.h5"
    weights, _ = imagenet_style_weights(folder / name, ALPHA, IMAGE_SIZE)
    made = time.perf_counter() - start
    config = TrainConfig(image_size=IMAGE_SIZE, alpha=ALPHA, weights=str(weights))
    return {"weights": WEIGHTS_NOTE, "weights_file_seconds": round(made, 1),
            **training(folder, "bench-pretrained", config)}


def step_evaluate(folder: Path, args) -> dict:
    """What `mbv2gui evaluate RUN PROJECT` does: the held-out images, predicted and compared."""
    from mbv2gui.commands.evaluate import images_to_evaluate
    from mbv2gui.core.inference.evaluation import evaluate_files
    from mbv2gui.core.runs import Run

    run = Run.load(run_folder(folder, "bench-pretrained"))
    items, which = images_to_evaluate(str(project_path(folder)), run.predictions)
    evaluation = evaluate_files(run, items)
    return {"images": evaluation.total, "accuracy": evaluation.accuracy, "which": which}


def step_suggestions(folder: Path, args) -> dict:
    from mbv2gui.core.inference.suggestions import suggest_labels

    result = suggest_labels(project_path(folder), run_folder(folder, "bench-pretrained"))
    if not result["suggested"]:
        raise SystemExit("The suggestions step suggested nothing.")
    return {"suggested": result["suggested"], "unreadable": len(result["unreadable"])}


def run_step(name: str, folder: Path, args) -> None:
    """In the child: one step, its result written where the parent reads it."""
    start = time.perf_counter()
    result = globals()[f"step_{name}"](folder, args)
    result["work_seconds"] = round(time.perf_counter() - start, 2)
    (folder / f".step-{name}.json").write_text(json.dumps(result))


# ----------------------------------------------------------------- the parent
def child(name: str, folder: Path, args) -> dict:
    """Runs one step in a fresh process; its wall seconds and peak RSS, measured from here."""
    out = folder / f".step-{name}.json"
    out.unlink(missing_ok=True)
    command = [sys.executable, __file__, str(folder), "-n", str(args.count),
               "--budget", str(args.budget), "--step", name]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=sys.stderr)  # our stdout is the JSON alone
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    result = {"seconds": round(time.perf_counter() - start, 1),
              "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}  # kilobytes on Linux
    if process.returncode != 0 or not out.exists():
        result["failed"] = f"exit code {process.returncode}"
        return result
    return {**result, **json.loads(out.read_text())}


def main(argv=None) -> int:
    from mbv2gui.core.training.budget import parse_duration

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?", default=Path("/tmp/mbv2gui-bench-50k"))
    parser.add_argument("-n", "--count", type=int, default=50_000)
    parser.add_argument("--budget", type=parse_duration, default=15 * 60.0,
                        help="the from-scratch training's time budget (90s, 15m, ...)")
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)  # in a child
    args = parser.parse_args(argv)
    folder = args.folder.resolve()
    if args.step:
        run_step(args.step, folder, args)
        return 0

    from real_looking_images import write_variants

    folder.mkdir(parents=True, exist_ok=True)
    # The children's caches (runtime conversions, a folder training's features) start empty
    # and stay out of the user's own.
    shutil.rmtree(folder / "cache", ignore_errors=True)
    os.environ["XDG_CACHE_HOME"] = str(folder / "cache")
    report = {"bench": "50k_end_to_end", "images": args.count, "image_size": IMAGE_SIZE,
              "alpha": ALPHA, "cpu_count": os.cpu_count(),
              "load_average_1min_at_start": round(os.getloadavg()[0], 2),
              "generate_seconds": round(write_variants(folder / "images", args.count), 1),
              "steps": {}}
    failed = None
    for name in STEPS:
        print(f"bench_50k: step {name}…", file=sys.stderr, flush=True)
        report["steps"][name] = result = child(name, folder, args)
        if "failed" in result:
            failed = name
            break
    report["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
    report["met"] = failed is None and all(
        step["peak_rss_mb"] < RSS_LIMIT_MB for step in report["steps"].values())
    print(json.dumps(report, indent=1))
    if failed:
        print(f"bench_50k: the step “{failed}” failed ({report['steps'][failed]['failed']}); "
              "its error is above, and the steps after it did not run.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
