"""What travels with an exported model: labels.txt and model.json (the card), then the how-to.

Several formats may be exported into one folder: model.json keeps one entry per format under
"exports" (for the same run; another run's entries are replaced), and the how-to covers each.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from mbv2gui.version import __version__
from mbv2gui.core.export.formats import FORMATS

CARD = "model.json"
LABELS = "labels.txt"


def _earlier_exports(path: Path, run_id: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data.get("exports", {}) if data.get("run_id") == run_id else {}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def card_data(run, fmt: str, written: dict, agreement: dict, earlier: dict) -> dict:
    size = int(run.config.image_size)
    entry = {"files": written["files"], "description": FORMATS[fmt],
             "input": written["input"], "output": written["output"],
             "agreement": agreement, "exported": _now()}
    for extra in ("calibration", "structure"):  # int8's calibration; Core ML's checked structure
        if extra in written:
            entry[extra] = written[extra]
    return {
        "run_id": run.run_id,
        "class_names": list(run.class_names),
        "labels_file": LABELS,
        "input_size": [size, size],
        "color_order": "RGB",
        "pixel_range": "0..255 (no normalization needed)",
        "preprocessing": (
            "Inside the model: raw RGB 0–255 in; the model scales it to [-1, 1] itself. "
            f"Resize the image to {size}×{size} (bilinear) first: the TFLite, ONNX and "
            f"SavedModel files take exactly {size}×{size}; the .keras file also accepts any "
            "size and resizes itself."),
        "output": f"one probability per class, in {LABELS} order (softmax)",
        "architecture": f"MobileNetV2 alpha {run.config.alpha}",
        "weights_source": run.metrics.get("weights_source", str(run.config.weights)),
        "metrics": {k: v for k, v in run.metrics.items() if k != "weights_source"},
        "date": _now(),
        "app": f"mbv2gui {__version__}",
        "exports": {**earlier, fmt: entry},
    }


def write_card(run, fmt: str, out_dir: Path, written: dict, agreement: dict) -> dict:
    """Writes labels.txt, model.json and the how-to; returns the model.json content."""
    from mbv2gui.core.export.howto import write_howto

    out_dir = Path(out_dir)
    (out_dir / LABELS).write_text("".join(f"{n}\n" for n in run.class_names), encoding="utf-8")
    data = card_data(run, fmt, written, agreement, _earlier_exports(out_dir / CARD, run.run_id))
    temporary = out_dir / (CARD + ".tmp")  # a reader never sees half a card
    temporary.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    os.replace(temporary, out_dir / CARD)
    write_howto(data, out_dir)
    return data
