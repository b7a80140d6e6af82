"""`mbv2gui predict RUN IMAGE_OR_FOLDER... [--top-k 3] [--csv FILE]`.

Prints (or writes to FILE) CSV: path, label, confidence, then the top-k labels and confidences,
and an `error` column; a file that cannot be read gets a row with the reason and the others
still run. Exit code 0 when done (even with unreadable files), 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys

from mbv2gui.core.errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="a run folder (made by `mbv2gui train`)")
    parser.add_argument("images", metavar="IMAGE_OR_FOLDER", nargs="+")
    parser.add_argument("--top-k", type=int, default=3)
    parser.add_argument("--csv", metavar="FILE", help="write the CSV to FILE instead of stdout")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from mbv2gui.commands.progress import run_job
    from mbv2gui.core.inference.predict import expand_paths, predict_files, save_csv, write_csv
    from mbv2gui.core.runs import Run

    if args.top_k < 1:
        raise UserError("--top-k must be at least 1.")
    paths = expand_paths(args.images)  # a wrong path is told before the model loads
    if not paths:
        raise UserError("No image files were found in the given folders.")
    run_ = Run.load(args.run)
    run_.load_model()
    top_k = min(args.top_k, len(run_.class_names))
    rows = run_job(predict_files, run_, paths, quiet=args.quiet, top_k=top_k,
                   batch_size=args.batch_size)
    if args.csv:
        save_csv(rows, args.csv, top_k)
    else:
        write_csv(rows, sys.stdout, top_k)
    failed = sum(1 for row in rows if row["error"])
    if failed:
        print(f"mbv2gui: {failed} of {len(rows)} file(s) could not be read (see the error "
              "column).", file=sys.stderr)
    return 0
