"""Images into tensors, fast and in bounded memory.

Decoding runs on a thread pool through the one image loader (Pillow releases the GIL while it
decodes; a decode wrapped in `tf.py_function` runs serially under it, ~24 vs ~89 images/s).
Each image is decoded straight to `image_size` (JPEG draft mode, then a resize), so no
full-size pixels are ever held. Training that needs pixels every epoch (fine-tuning, from
scratch) decodes once into a disk-backed `PixelStore` (a uint8 file read back memory-mapped:
the OS pages it, so 10,000 images at 224 px cost disk, not RAM) and feeds batches from it
through a traced augmentation (`training_batches`); the saved model never contains it.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
from PIL import Image

from mbv2gui.core.errors import JobCancelled
from mbv2gui.core.files.folders import file_problem
from mbv2gui.core.files.images import ImageError, load_pil


def decode_resized(path: str, size: int) -> np.ndarray:
    """An image as (size, size, 3) uint8, the pixels training and prediction both see."""
    image = load_pil(path, max_side=size)
    if image.size != (size, size):
        image = image.resize((size, size), Image.BILINEAR)
    return np.asarray(image, dtype=np.uint8)


PREFETCH = 1  # batches decoded ahead of the one the caller runs forward


def default_workers() -> int:
    return max(2, min(8, os.cpu_count() or 2))


def iter_decoded(paths: Sequence[str], size: int, should_stop: Callable[[], bool] = lambda: False,
                 workers: int | None = None, lookahead: int = 64) -> Iterator[tuple[int, object]]:
    """(index, array or ImageError) for each path, in order, decoding up to `lookahead`
    images ahead on a thread pool (bounded memory however many paths there are)."""

    with ThreadPoolExecutor(workers or default_workers(), thread_name_prefix="decode") as pool:
        pending: deque = deque()
        index = 0
        try:
            while pending or index < len(paths):
                while index < len(paths) and len(pending) < lookahead:
                    pending.append((index, pool.submit(_decode_or_error, paths[index], size)))
                    index += 1
                if should_stop():
                    raise JobCancelled()
                position, future = pending.popleft()
                yield position, future.result()
        finally:
            for _, future in pending:
                future.cancel()


def iter_batches(paths: Sequence[str], size: int, batch_size: int,
                 should_stop: Callable[[], bool] = lambda: False):
    """Yields (indices, uint8 batch, failures) with failures a list of (index, ImageError).

    Each batch is decoded by all cores at once, and the next one while the caller runs the
    current one forward (PREFETCH): ONNX Runtime's forward leaves cores idle between its
    layers, so files to predictions ran 1.17x faster at 96 px and 1.04x at 224 px than decoding
    only when asked (bench/bench_runtime.py; with Keras' forward, which kept every core busy,
    overlapping had not helped)."""
    chunks = [range(start, min(start + batch_size, len(paths)))
              for start in range(0, len(paths), batch_size)]
    with ThreadPoolExecutor(default_workers(), thread_name_prefix="decode") as pool:
        def submit(chunk):
            return [pool.submit(_decode_or_error, paths[i], size) for i in chunk]

        ahead: deque = deque()
        try:
            for number, chunk in enumerate(chunks):
                if should_stop():
                    raise JobCancelled()
                while len(ahead) < 1 + PREFETCH and number + len(ahead) < len(chunks):
                    ahead.append(submit(chunks[number + len(ahead)]))
                results = [future.result() for future in ahead.popleft()]
                good = [(i, r) for i, r in zip(chunk, results) if not isinstance(r, ImageError)]
                batch = (np.stack([r for _, r in good]) if good
                         else np.zeros((0, size, size, 3), np.uint8))
                yield ([i for i, _ in good], batch,
                       [(i, r) for i, r in zip(chunk, results) if isinstance(r, ImageError)])
        finally:  # stopped or closed early: what was decoding ahead is not waited for
            for futures in ahead:
                for future in futures:
                    future.cancel()


def _decode_or_error(path: str, size: int):
    """The pixels, or the ImageError saying why not: one bad file is one entry with a reason
    in training, features, prediction and suggestions alike, and the others go on."""
    problem = file_problem(path)
    if problem:  # a pipe or a device named x.jpg is never opened: its read may never end
        return ImageError(path, problem)
    try:
        return decode_resized(path, size)
    except ImageError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - the loader should say ImageError; never lose a job to one file
        return ImageError(path, "the image data is damaged and cannot be decoded",
                          f"{type(exc).__name__}: {exc}")


class PixelStore:
    """Every image decoded once to (size, size, 3) uint8 in a file, read back memory-mapped.

    The file is written with ordinary `write()` calls, image after image, and only then mapped,
    read-only. Why not a writable map (`open_memmap(..., "w+")`, as before): the kernel stores
    a written page only later, and when the disk is full it cannot, so the process dies of
    SIGBUS with no message (and the window with it). A `write()` instead fails with ENOSPC, an
    exception that is said in words; and reading a fully written file through a map cannot
    fault for lack of space. Why not `posix_fallocate` and then the writable map: it does not
    exist on macOS or Windows, and on copy-on-write file systems (btrfs, ZFS, APFS) a write into
    preallocated blocks still allocates new ones, so the map could still fault."""

    def __init__(self, file: Path, size: int, pixels: np.ndarray, ok: np.ndarray,
                 errors: dict):
        self.file, self.size, self.pixels = Path(file), size, pixels
        self.ok, self.errors = ok, errors

    @classmethod
    def build(cls, paths: Sequence[str], size: int, file: Path, report=lambda done, total: None,
              should_stop=lambda: False) -> "PixelStore":
        from mbv2gui.core.files.diskspace import pixel_cache_bytes, said_in_words

        file = Path(file)
        ok, errors = np.zeros(len(paths), dtype=bool), {}
        blank = bytes(size * size * 3)  # an unreadable image's place, never trained on
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)),
                  "fortran_order": False, "shape": (max(1, len(paths)), size, size, 3)}
        try:
            with said_in_words(file.parent, "prepare the images for training",
                               pixel_cache_bytes(len(paths), size)):
                with open(file, "wb") as handle:
                    np.lib.format.write_array_header_1_0(handle, header)
                    for position, result in iter_decoded(paths, size, should_stop):
                        if isinstance(result, ImageError):
                            errors[position] = result
                            handle.write(blank)
                        else:
                            handle.write(np.ascontiguousarray(result, dtype=np.uint8).tobytes())
                            ok[position] = True
                        report(position + 1, len(paths))
                    if not paths:
                        handle.write(blank)
        except BaseException:  # full disk, cancel: no half-written file stays behind
            file.unlink(missing_ok=True)
            raise
        return cls(file, size, np.load(file, mmap_mode="r"), ok, errors)

    def batches(self, indices: Sequence[int], batch_size: int) -> Iterator[np.ndarray]:
        for start in range(0, len(indices), batch_size):
            # Sorted reads are sequential on disk; the order inside a batch does not matter.
            yield self.pixels[np.sort(np.asarray(indices[start:start + batch_size]))]

    def close(self) -> None:
        del self.pixels
        try:
            self.file.unlink()
        except OSError:
            pass


def augmenter(config, seed: int):
    """Keras' random layers for the augmentations switched on, or None."""
    from mbv2gui.core.training.tfsetup import keras

    layers = keras().layers
    chosen = []
    if config.augment_flip:
        chosen.append(layers.RandomFlip("horizontal", seed=seed))
    if config.augment_rotation:
        chosen.append(layers.RandomRotation(0.06, fill_mode="reflect", seed=seed + 1))
    if config.augment_shift:
        chosen.append(layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=seed + 2))
    if config.augment_zoom:
        chosen.append(layers.RandomZoom((-0.15, 0.15), fill_mode="reflect", seed=seed + 3))
    return keras().Sequential(chosen, name="augment") if chosen else None


def training_batches(store: PixelStore, indices: np.ndarray, targets: np.ndarray,
                     weights: np.ndarray, batch_size: int, augment, seed: int):
    """`batches(epoch)`, the loop's feed: shuffled (float32 images 0..255, targets, sample
    weights) batches of the store's images, augmented anew each epoch; and the steps an epoch.

    Plain Python over the memory map, with augmentation as its own traced function, and no
    tf.data: a `from_generator` -> parallel `map` -> `prefetch` pipeline left both cores idle for
    about 38 s in one epoch out of two on cifar10-5k (a 96 px from-scratch epoch took 84 s
    instead of 46), waiting on the iterator. Reading a batch of 32 at 96 px from the map takes
    about 2 ms and flipping and shifting it under 30 ms, against a training step of about
    270 ms that keeps both cores busy, so running them in turn leaves little to overlap."""
    from mbv2gui.core.training.tfsetup import tf

    t = tf()
    prepare = None
    if augment is not None:
        def augmented(x):
            return t.clip_by_value(augment(t.cast(x, t.float32), training=True), 0.0, 255.0)

        # One trace with a free batch size (the last batch is smaller).
        prepare = t.function(augmented, autograph=False, input_signature=[
            t.TensorSpec((None, store.size, store.size, 3), t.uint8)])

    def batches(epoch: int):
        order = np.random.default_rng(seed + epoch).permutation(len(indices))
        for start in range(0, len(order), batch_size):
            chosen = np.sort(order[start:start + batch_size])  # sorted: sequential reads
            x = store.pixels[indices[chosen]]
            x = prepare(x) if prepare is not None else x.astype(np.float32)
            yield x, targets[chosen], weights[chosen]

    return batches, -(-len(indices) // batch_size)
