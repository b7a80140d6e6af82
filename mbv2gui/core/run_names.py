"""A run named in words, never by its internal id:

    "Run of 6 Dec 01:06 — pretrained (ImageNet), 51%"
    "Run of 6 Dec 01:06 — from scratch, 40%"
    "Run of 6 Dec 01:06 — from the run of 5 Dec 17:20, 88%"

Everything the user sees about a run (the runs list, the run combos, the Export dialog, the
Train view's summary) takes its name from here. Qt-free; reads only small JSON files.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from mbv2gui.core.inference.quality import trained_from_scratch

# Run ids begin with their start time (core.runs.new_run_id: YYYYmmdd-HHMMSS-xxxx).
_ID_TIME = re.compile(r"(\d{8}-\d{6})")


def _parse(created: str | None, run_id: str = "") -> time.struct_time | None:
    for text, fmt in ((created, "%Y-%m-%d %H:%M:%S"), (created, "%Y-%m-%d %H:%M")):
        if text:
            try:
                return time.strptime(text, fmt)
            except ValueError:
                pass
    match = _ID_TIME.search(run_id or "")
    if match:
        try:
            return time.strptime(match.group(1), "%Y%m%d-%H%M%S")
        except ValueError:
            pass
    return None


def when(created: str | None, run_id: str = "") -> str:
    """"6 Dec 01:06" (the year too when it is not this year), or "" when unknown."""
    moment = _parse(created, run_id)
    if moment is None:
        return ""
    year = "" if moment.tm_year == time.localtime().tm_year else f" {moment.tm_year}"
    return f"{moment.tm_mday} {time.strftime('%b', moment)}{year} {time.strftime('%H:%M', moment)}"


def _config_dict(config) -> dict:
    if config is None:
        return {}
    return config if isinstance(config, dict) else config.to_dict()


def _earlier_run_folder(weights: str) -> Path | None:
    """The run folder a weights choice points into (the folder, or its model file), if any."""
    path = Path(weights).expanduser()
    for folder in (path, path.parent):
        if (folder / "labels.txt").is_file() or _ID_TIME.fullmatch(folder.name[:15] or ""):
            return folder
    return None


def start_point(config, metrics: dict | None = None) -> str:
    """Where the backbone started, in words: "pretrained (ImageNet)", "from scratch", "from
    the run of 5 Dec 17:20" or "from the weights file x.h5"; never "auto". Runs trained since
    start points were named keep the words in metrics.json ("start_point")."""
    metrics = metrics or {}
    if metrics.get("start_point"):
        return str(metrics["start_point"])
    if trained_from_scratch(config, metrics):
        return "from scratch"
    weights = str(_config_dict(config).get("weights") or "auto")
    if weights in ("auto", "imagenet") or str(metrics.get("weights_source", "")).startswith(
            "Starting from ImageNet"):
        return "pretrained (ImageNet)"
    folder = _earlier_run_folder(weights)
    if folder is not None:
        stamp = when(None, folder.name)
        return f"from the run of {stamp}" if stamp else "from an earlier run"
    return f"from the weights file {Path(weights).name}"


def earlier_run(run_dir) -> str:
    """"the run of 6 Dec 01:06 (51% validation accuracy)": an earlier run as a starting point,
    from its folder name (the time it started) and metrics.json."""
    run_dir = Path(run_dir)
    stamp = when(None, run_dir.name)
    if not stamp:  # a folder named by hand (`mbv2gui train --out`): when it was written
        try:
            stamp = when(time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(
                (run_dir / "model.keras").stat().st_mtime)))
        except OSError:
            stamp = ""
    words = f"the run of {stamp}" if stamp else f"the run in {run_dir.name}"
    accuracy = _read_json(run_dir / "metrics.json").get("val_accuracy")
    if isinstance(accuracy, (int, float)):
        words += f" ({accuracy:.0%} validation accuracy)"
    return words


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def run_name(config, metrics: dict | None, created: str | None = None, run_id: str = "") -> str:
    """"Run of 6 Dec 01:06 — pretrained (ImageNet), 51%"."""
    metrics = metrics or {}
    stamp = when(created, run_id)
    accuracy = metrics.get("val_accuracy")
    parts = [start_point(config, metrics)]
    if isinstance(accuracy, (int, float)):
        parts.append(f"{accuracy:.0%}")
    return f"{'Run of ' + stamp if stamp else 'Run'} — {', '.join(parts)}"


def record_name(record) -> str:
    """The name of a project's run record (Project.runs())."""
    return run_name(record.config, record.metrics, record.created, record.id)


def folder_name(run_dir) -> str:
    """The name of a run folder (its config.json and metrics.json; "Run" when unreadable)."""
    run_dir = Path(run_dir)
    return run_name(_read_json(run_dir / "config.json"), _read_json(run_dir / "metrics.json"),
                    None, run_dir.name)
