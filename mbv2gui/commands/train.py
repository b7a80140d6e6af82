"""`mbv2gui train DATA --out RUN ...`: train a classifier from a terminal.

DATA is a folder with one subfolder of images per class, or a project file. Shows progress on
stderr, writes the run folder, and prints a one-line JSON summary last on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from mbv2gui.core.errors import JobCancelled, UserError
from mbv2gui.core.inference.quality import quality_sentence
from mbv2gui.core.training.stopping_words import early_stop_sentence
from mbv2gui.core.training.weights import URL_VARIABLE, WeightsUnavailable


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", metavar="DATA",
                        help="a folder with one subfolder of images per class, or a project file")
    parser.add_argument("--out", metavar="RUN", required=True, help="the run folder to write")
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--alpha", type=float, default=0.35)
    parser.add_argument("--weights", default="auto", metavar="auto|imagenet|none|RUN_OR_FILE",
                        help="auto (default): ImageNet weights, downloaded once if needed; none: "
                        "from scratch; or an earlier run folder, a .keras model or an .h5 "
                        "weights file to start from (same alpha and image size)")
    parser.add_argument("--weights-url", metavar="URL",
                        help="download ImageNet weights from this mirror (a folder URL holding "
                        "Keras' file names; also the MBV2GUI_WEIGHTS_URL variable)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="default: 30 for the head, more when training from scratch")
    parser.add_argument("--time-budget", metavar="TIME",
                        help="train for about this long (90s, 20m, 1h or seconds): the epochs and "
                        "the learning-rate schedule are sized to fit, from the speed measured "
                        "in the first steps; with --epochs, at most that many")
    parser.add_argument("--fine-tune-epochs", type=int, default=0)
    parser.add_argument("--val-split", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--no-augment", action="store_true", help="no flip/rotation/shift/zoom")
    parser.add_argument("--teacher", metavar="MODEL", help="a .keras model to distill from")
    parser.add_argument("--distributed", action="store_true",
                        help="train on several machines together: run the same command on "
                        "each, with the TF_CONFIG variable naming the machines and this one's "
                        "place among them; the chief (worker 0) writes the run (see README)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def config_from_args(args):
    from mbv2gui.core.training.config import AUGMENTATIONS, TrainConfig

    if not 0 <= args.val_split < 1:
        raise UserError("--val-split must be at least 0 and below 1 (0.2 keeps a fifth of each "
                        "class for validation).")
    if args.epochs is not None and args.epochs < 1:
        raise UserError("--epochs must be at least 1.")
    budget = None
    if args.time_budget is not None:
        from mbv2gui.core.training.budget import parse_duration

        try:
            budget = parse_duration(args.time_budget)
        except ValueError as exc:
            raise UserError(f"--time-budget: {exc}") from exc
    if args.weights not in ("auto", "imagenet", "none"):
        from mbv2gui.core.training.start_point import check_start_point

        check_start_point(args.weights, args.alpha, args.image_size)  # refused before any work
    # --no-augment turns every augmentation off; without it the defaults hold (TrainConfig)
    no_augment = dict.fromkeys(AUGMENTATIONS, False) if args.no_augment else {}
    return TrainConfig(image_size=args.image_size, alpha=args.alpha, weights=args.weights,
                       epochs=args.epochs, time_budget_s=budget,
                       fine_tune_epochs=args.fine_tune_epochs,
                       val_split=args.val_split, seed=args.seed, batch_size=args.batch_size,
                       teacher_path=args.teacher, **no_augment)


def run(args: argparse.Namespace) -> int:
    from mbv2gui.commands.progress import run_job
    from mbv2gui.core.training.train import train

    chief, run_dir = True, args.out
    if args.distributed and args.time_budget:
        raise UserError("--time-budget cannot be used with --distributed: every machine must "
                        "run the same number of epochs, so give --epochs instead.")
    if args.distributed:  # first: TensorFlow must do nothing else before joining the others
        chief, run_dir = _join_the_machines(args.out)
    config = config_from_args(args)
    if args.weights_url:  # this process and its job read the mirror from the environment
        os.environ[URL_VARIABLE] = args.weights_url
    try:
        result = run_job(train, args.data, config, quiet=args.quiet, run_dir=run_dir,
                         record=chief)
    except WeightsUnavailable as exc:
        raise UserError(exc.message.replace(
            "choose a weights file, or train from scratch",
            "give --weights RUN_OR_FILE, or train from scratch with --weights none"),
            exc.detail) from exc
    except JobCancelled:
        raise UserError("Training was stopped before the first epoch ended; nothing was saved.")
    except Exception as exc:
        if args.distributed and _lost_a_machine(exc):
            raise UserError("The training stopped because another machine of the distributed "
                            "training stopped answering; nothing was saved. Start the same "
                            "command on every machine again.", str(exc)) from exc
        raise
    stopped = early_stop_sentence(result.metrics)
    if stopped:
        print(stopped, file=sys.stderr)
    print(quality_sentence(result), file=sys.stderr)  # weak or unsure: say so, and what helps
    m = result.metrics
    print(json.dumps({"run": str(result.run_dir), "accuracy": m["accuracy"],
                      "val_accuracy": m["val_accuracy"], "epochs": m["epochs"],
                      "seconds": m["seconds"], "weights": config.weights,
                      "pretrained": m["pretrained"], "start_point": m.get("start_point"),
                      "stopped_early_by_user": m["stopped_early_by_user"]}))
    if not chief:  # its copy of the run: the chief wrote the one that is kept
        import shutil

        shutil.rmtree(os.path.dirname(run_dir), ignore_errors=True)
    return 0


def _join_the_machines(out: str) -> tuple[bool, str]:
    """(whether this machine is the chief, the run folder it writes): the chief writes --out,
    the others a temporary folder, since every machine trains the same model."""
    import tempfile

    from mbv2gui.core.training.tfsetup import is_chief, use_multi_worker

    if not os.environ.get("TF_CONFIG"):
        raise UserError("--distributed needs the TF_CONFIG variable: the machines' addresses "
                        "and this one's place among them, the same on every machine but for "
                        "the index (the README shows a two-machine example).")
    use_multi_worker()
    if is_chief():
        return True, out
    return False, os.path.join(tempfile.mkdtemp(prefix="mbv2gui-worker-"), "run")


def _lost_a_machine(exc: Exception) -> bool:
    """Whether a TensorFlow error says a machine of the cluster stopped answering."""
    from mbv2gui.core.training.tfsetup import tf

    errors = tf().errors
    return isinstance(exc, (errors.UnavailableError, errors.DeadlineExceededError,
                            errors.CancelledError, errors.AbortedError, errors.InternalError))
