"""Job functions behind the Predict view (Qt-free; the GUI runs them through its job runner).

  predict_with_heatmaps  a small drop: top-k rows (exactly `predict_files`' answers) plus, per
                         readable file, a preview of its pixels, its content hash and a Grad-CAM
                         heat map for the predicted class
  heatmap_for            one file's heat map for any class (a click on another class's bar)
  predict_batch          a folder or a big drop: rows streamed in chunks as "rows" events, so
                         the table fills while the job runs and 10,000 files never pile up

TensorFlow and the model are loaded only here, inside the job (a worker thread); a `Run` keeps
its model once loaded, so later jobs on the same `Run` object start at once.
"""

from __future__ import annotations

import threading
from typing import Sequence

import numpy as np

from mbv2gui.core.errors import JobCancelled, UserError
from mbv2gui.core.files.images import ImageError, content_hash, load_pil
from mbv2gui.core.jobs import ignore_events, never_stop, progress
from mbv2gui.core.inference.predict import expand_paths, predict_files

# The longest side of the pixels a card shows (and its heat map is computed on): a camera photo
# of 4000 px would otherwise cost 64 MB per card for nothing the screen can show.
PREVIEW_SIDE = 640
# Heat maps are made for at most this many files of one drop (the cards' limit).
MAX_HEATMAPS = 24
# Rows per "rows" event of a batch: small enough for a lively table, big enough to be cheap.
CHUNK_FILES = 128

_model_lock = threading.Lock()


def load_model_once(run):
    """The run's model; two jobs starting together must not load it twice."""
    with _model_lock:
        return run.load_model()


def load_preview(path: str, max_side: int = PREVIEW_SIDE) -> np.ndarray:
    """The file's RGB pixels (uint8 HxWx3) through the one image loader, no longer than
    `max_side` on its longer side (smaller images keep their own size)."""
    image = load_pil(path, max_side)
    if max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side))
    return np.asarray(image)


def _check(should_stop) -> None:
    if should_stop():
        raise JobCancelled()


def predict_with_heatmaps(run, paths: Sequence[str], report=ignore_events, should_stop=never_stop,
                          top_k: int = 3, with_heatmap: bool = True,
                          max_heatmaps: int = MAX_HEATMAPS) -> list[dict]:
    """`predict_files` rows, in order, and for each readable file among the first
    `max_heatmaps`: 'image' (preview pixels), 'content_hash', 'class_index' (the predicted
    class) and, when `with_heatmap`, 'heatmap' (float32 HxW in [0, 1], the preview's size)."""
    paths = [str(p) for p in paths]
    report(progress(0, len(paths), "Loading the model…"))
    model = load_model_once(run)
    _check(should_stop)
    rows = predict_files(run, paths, report, should_stop, top_k=top_k)
    names = list(run.class_names)
    extras = [r for r in rows if r["error"] is None][:max_heatmaps]
    for done, row in enumerate(extras, 1):
        _check(should_stop)
        try:
            image = load_preview(row["path"])
            row["content_hash"] = content_hash(row["path"])
        except ImageError as exc:  # changed or deleted since it was predicted a moment ago
            row.update(label=None, confidence=None, top_k=[], error=exc.message)
            continue
        row["image"] = image
        row["class_index"] = names.index(row["label"])
        if with_heatmap:
            from mbv2gui.core.inference.gradcam import gradcam

            row["heatmap"] = gradcam(model, image, row["class_index"]).heatmap
        report(progress(done, len(extras), "Finding where the model looked…"))
    return rows


def heatmap_for(run, path: str, class_index: int, report=ignore_events,
                should_stop=never_stop) -> dict:
    """{'path', 'class_index', 'heatmap', 'probabilities'}: where the model looked in `path`
    when it considered class `class_index`."""
    from mbv2gui.core.inference.gradcam import gradcam

    if not 0 <= int(class_index) < len(run.class_names):
        raise UserError(f"The model has no class number {class_index}.")
    model = load_model_once(run)
    _check(should_stop)
    image = load_preview(str(path))
    cam = gradcam(model, image, int(class_index))
    return {"path": str(path), "class_index": int(cam.class_index), "heatmap": cam.heatmap,
            "probabilities": np.asarray(cam.probabilities)}


def predict_batch(run, items: Sequence[str], report=ignore_events, should_stop=never_stop,
                  top_k: int = 3, chunk_files: int = CHUNK_FILES) -> dict:
    """Predicts every image in the given files and folders. Streams
    {"type": "rows", "start": int, "rows": [...]} events (rows as `predict_files` makes them)
    and progress; returns {'total', 'errors'} (the rows went out as events). On cancel, the
    rows already sent stay valid and `JobCancelled` ends the job."""
    report(progress(0, None, "Looking for images…"))
    paths = expand_paths([str(i) for i in items], should_stop)
    _check(should_stop)
    total = len(paths)
    if not total:
        raise UserError("There are no images there (mbv2gui reads JPEG, PNG, BMP, GIF, WebP "
                        "and TIFF files).")
    report({"type": "total", "total": total})
    report(progress(0, total, "Loading the model…"))
    load_model_once(run)
    errors = 0
    for start in range(0, total, chunk_files):
        _check(should_stop)
        chunk = paths[start:start + chunk_files]

        def chunk_progress(event, offset=start):
            if event.get("type") == "progress":
                report(progress(offset + int(event.get("done") or 0), total, "Predicting"))

        rows = predict_files(run, chunk, chunk_progress, should_stop, top_k=top_k,
                             job_images=total)
        errors += sum(r["error"] is not None for r in rows)
        report({"type": "rows", "start": start, "rows": rows})
    report(progress(total, total, "Predicting"))
    return {"total": total, "errors": errors}
