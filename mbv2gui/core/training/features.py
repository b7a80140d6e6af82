"""The feature cache: a frozen backbone's pooled features, computed once per image.

Keyed by the image's content hash (a moved file keeps its features, a changed one does not) and
by the backbone's identity (alpha, input size, weights): retraining the head after each new
label then costs seconds. One small .npy file per image, written atomically (a kill leaves no
half-written entry); a project keeps them in its sidecar folder, a plain folder in the user's
cache folder.
"""

from __future__ import annotations

import io
import os
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from mbv2gui.core.files.diskspace import ensure_free, said_in_words
from mbv2gui.core.jobs import progress
from mbv2gui.core.store.sidecar import features_folder

ACTION = "save the image features"
ENTRY_OVERHEAD = 4096  # the .npy header, and a file system block per small file


def backbone_key(alpha: float, image_size: int, weights_identity: str) -> str:
    return f"mbv2-a{float(alpha)}-s{int(image_size)}-{weights_identity}"


class FeatureCache:
    def __init__(self, root: Path | None, key: str):
        self.folder = Path(root or features_folder(None)) / key
        self.folder.mkdir(parents=True, exist_ok=True)
        self._folders: set[Path] = set()

    def _file(self, content_hash: str) -> Path:
        return self.folder / content_hash[:2] / f"{content_hash}.npy"

    def get(self, content_hash: str) -> np.ndarray | None:
        try:
            return np.load(self._file(content_hash))
        except (OSError, ValueError):  # missing, or damaged: recompute
            return None

    def put(self, content_hash: str, vector: np.ndarray) -> None:
        self.put_many([(content_hash, vector)])

    def put_many(self, entries) -> None:
        """Writes (content hash, vector) entries. Each is one .npy file written in one call
        (the header made once per shape) and renamed into place: np.save per entry cost as
        much as the fast runtime's forward pass at 96 px (bench/bench_runtime.py)."""
        with said_in_words(self.folder, ACTION):
            for content_hash, vector in entries:
                self._write(content_hash, np.ascontiguousarray(vector, dtype=np.float32))

    def _write(self, content_hash: str, vector: np.ndarray) -> None:
        file = self._file(content_hash)
        if file.parent not in self._folders:
            file.parent.mkdir(exist_ok=True)
            self._folders.add(file.parent)
        temporary = file.with_name(f"{file.stem}.{os.getpid()}.tmp.npy")
        try:
            with open(temporary, "wb") as handle:
                handle.write(_npy_header(vector.shape) + vector.tobytes())
            os.replace(temporary, file)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def ensure_room(self, count: int, dimension: int) -> None:
        """Says now, before any is computed, that `count` more vectors would not fit."""
        ensure_free(self.folder, count * (4 * dimension + ENTRY_OVERHEAD), ACTION)


@lru_cache(maxsize=8)
def _npy_header(shape: tuple) -> bytes:
    """What np.save writes before a float32 array of `shape` (np.load reads the file back)."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
                 "fortran_order": False, "shape": tuple(shape)})
    return buffer.getvalue()


def compute_features(feature_model, paths: Sequence[str], hashes: Sequence[str], image_size: int,
                     cache: FeatureCache | None, report: Callable, should_stop: Callable,
                     batch_size: int = 32, runtime_folder: Path | None = None):
    """(features (n, d) float32, readable mask, {index: ImageError}) for the images.
    Cached vectors are reused; the rest are decoded in parallel and run through the model on
    the fastest runtime (core/inference/runtime.py), its conversion kept in `runtime_folder`,
    one model's folder (default: the user's cache, where conversions are keyed by content: a
    new project's first training on the same backbone finds its conversion made)."""
    from mbv2gui.core.training.pipeline import iter_batches

    n = len(paths)
    # An image without a known content hash is computed every time rather than mis-keyed.
    found = {i: cache.get(hashes[i]) for i in range(n) if hashes[i]} if cache else {}
    vectors = {i: v for i, v in found.items() if v is not None}
    todo = [i for i in range(n) if i not in vectors]
    errors = {}
    done = len(vectors)
    report(progress(done, n, f"Computing image features ({done} of {n} cached)"))
    if cache and todo:
        cache.ensure_room(len(todo), int(feature_model.output_shape[-1]))
    predict = _forward(feature_model, runtime_folder, report, len(todo)) if todo else None
    for indices, batch, failures in iter_batches([paths[i] for i in todo], image_size,
                                                 batch_size, should_stop):
        errors.update((todo[i], exc) for i, exc in failures)
        if len(batch):
            output = predict(batch)
            for i, vector in zip(indices, output):
                vectors[todo[i]] = vector
            if cache:
                cache.put_many((hashes[todo[i]], vector) for i, vector in zip(indices, output)
                               if hashes[todo[i]])
        done += len(indices) + len(failures)
        report(progress(done, n, "Computing image features"))
    dim = next(iter(vectors.values())).shape[-1] if vectors else 0
    features = np.zeros((n, dim), dtype=np.float32)
    for i, vector in vectors.items():
        features[i] = vector
    ok = np.array([i in vectors for i in range(n)], dtype=bool)
    return features, ok, errors


def _forward(feature_model, runtime_folder, report, images: int):
    from mbv2gui.core.inference.runtime import forward_for

    return forward_for(feature_model, runtime_folder, report, prune=runtime_folder is not None,
                       images=images)
