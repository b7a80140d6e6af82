"""The run's own list of its exports (exports.json in the run folder): where each format went
and what it was checked against, so a report of the run can say so. Written after an export
succeeded; a run whose folder cannot be written to (read-only) simply has no list."""

from __future__ import annotations

import json
import os
from pathlib import Path

EXPORTS = "exports.json"


def recorded(run_dir) -> dict:
    """{format: {out_dir, files, agreement, exported}} of the run's exports, newest of each."""
    try:
        data = json.loads((Path(run_dir) / EXPORTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record(run_dir, fmt: str, out_dir, files: list, agreement: dict, exported: str,
           structure: str | None = None) -> None:
    data = recorded(run_dir)
    data[fmt] = {"out_dir": str(out_dir), "files": list(files), "agreement": agreement,
                 "exported": exported}
    if structure:  # what was checked of a format that cannot be run here (Core ML off macOS)
        data[fmt]["structure"] = structure
    path = Path(run_dir) / EXPORTS
    temporary = path.with_name(EXPORTS + ".tmp")
    try:
        temporary.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
        os.replace(temporary, path)
    except OSError:  # the export itself is done and kept; only the report will not list it
        temporary.unlink(missing_ok=True)
