"""One vector per image, for the tools that compare images with each other (label next,
near-duplicates, the map of the data): the run's own backbone features when there is a run
(cached by content, so a second look costs nothing), else a small pixel fingerprint (no model
needed yet: a new project can still find its near-duplicates).

`project_vectors(project_path, run_dir, report, should_stop)` is the shared first step of those
jobs; it returns plain data (arrays and lists), so the jobs can run in the engine process and
send their results back. TensorFlow only when a run is given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mbv2gui.core.errors import JobCancelled
from mbv2gui.core.jobs import ignore_events, message, never_stop, progress

# The pixel fingerprint: a FINGERPRINT_SIDE² colour thumbnail, centred on its mean brightness
# (not per channel: colour still counts) and scaled to unit length. Small enough that
# re-encoding, resizing and a slight crop barely change it, large enough that two photos of
# one scene taken from another spot differ.
FINGERPRINT_SIDE = 12


@dataclass
class ProjectVectors:
    ids: list[int]                 # image ids, one per row of `vectors`
    vectors: np.ndarray            # (n, d) float32
    source: str                    # "features" (a run's backbone) or "pixels" (fingerprints)
    probabilities: np.ndarray | None  # (n, classes) from the run's head, or None without a run
    class_names: list[str]         # the run's output order ([] without a run)
    unreadable: int                # images left out because they could not be read
    labeled: np.ndarray            # (n,) bool: the image has a label


def pixel_fingerprint(path) -> np.ndarray:
    """A unit-length, mean-centred colour thumbnail of the image (see FINGERPRINT_SIDE)."""
    from PIL import Image

    from mbv2gui.core.files.images import load_pil

    image = load_pil(path, max_side=4 * FINGERPRINT_SIDE)
    small = image.resize((FINGERPRINT_SIDE, FINGERPRINT_SIDE), Image.Resampling.BOX)
    vector = np.asarray(small, dtype=np.float32).ravel()
    vector -= vector.mean()
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def pixel_fingerprints(paths, report=ignore_events, should_stop=never_stop):
    """(vectors (n, 3 * FINGERPRINT_SIDE²), readable mask) for the files."""
    from mbv2gui.core.files.images import ImageError

    vectors = np.zeros((len(paths), 3 * FINGERPRINT_SIDE ** 2), dtype=np.float32)
    ok = np.zeros(len(paths), dtype=bool)
    for i, path in enumerate(paths):
        if i % 64 == 0:
            if should_stop():
                raise JobCancelled()
            report(progress(i, len(paths), "Comparing the images' pixels"))
        try:
            vectors[i] = pixel_fingerprint(path)
            ok[i] = True
        except ImageError:
            pass  # counted as unreadable by the caller
    return vectors, ok


def head_probabilities(run, features: np.ndarray) -> np.ndarray:
    """The run's classifier applied to pooled features (numpy: the Dense softmax layer's own
    weights), so every image's probabilities come from the features already computed."""
    kernel, bias = run.load_model().get_layer("classifier").get_weights()
    logits = features.astype(np.float64) @ kernel + bias
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def project_vectors(project_path, run_dir=None, report=ignore_events,
                    should_stop=never_stop) -> ProjectVectors:
    """Vectors for the project's readable images that are not excluded."""
    from mbv2gui.core.store.project import Project

    project = Project.open(project_path)
    try:
        images = [im for im in project.images() if im.status == "ok" and not im.excluded]
        if run_dir:
            from mbv2gui.core.inference.mislabeled import image_features
            from mbv2gui.core.runs import Run

            run = Run.load(run_dir)
            vectors, usable = image_features(project, run, images, report, should_stop)
            probabilities = head_probabilities(run, vectors) if len(usable) else None
            names, source = list(run.class_names), "features"
        else:
            vectors, ok = pixel_fingerprints([im.path for im in images], report, should_stop)
            usable = list(np.flatnonzero(ok))
            vectors, probabilities, names, source = vectors[usable], None, [], "pixels"
    finally:
        project.close()
    unreadable = len(images) - len(usable)
    if unreadable and not run_dir:
        report(message(f"{unreadable} image(s) could not be read and were left out.", "warning"))
    return ProjectVectors([images[i].id for i in usable], np.asarray(vectors, np.float32),
                          source, probabilities, names, unreadable,
                          np.array([images[i].class_id is not None for i in usable], dtype=bool))


def unit_rows(vectors: np.ndarray, centre: bool = True) -> np.ndarray:
    """Rows centred on their mean (pooled ReLU features are all positive, so raw cosines are
    all high) and scaled to unit length: a dot product is then a cosine similarity."""
    x = np.asarray(vectors, dtype=np.float32)
    if centre and len(x) > 1:
        x = x - x.mean(axis=0)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)
