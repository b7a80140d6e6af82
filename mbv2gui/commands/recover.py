"""`mbv2gui recover PROJECT`: a recovered copy of a damaged project, `name (recovered).mbv2`
beside it, with every image, label and run that can still be read (mbv2gui.core.store.recovery).
The damaged file is never changed."""

from __future__ import annotations


def add_arguments(parser) -> None:
    parser.add_argument("project", metavar="PROJECT", help="the damaged project file (.mbv2)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from mbv2gui.commands.progress import run_job
    from mbv2gui.core.errors import JobCancelled, UserError
    from mbv2gui.core.store.recovery import recover_project

    try:
        result = run_job(recover_project, args.project, quiet=args.quiet)
    except JobCancelled:
        raise UserError("The recovery was stopped; no copy was written.") from None
    print(result.summary())
    print(result.path)
    return 0
