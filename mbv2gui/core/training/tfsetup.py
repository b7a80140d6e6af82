"""The one place TensorFlow and Keras are imported, lazily: importing them takes seconds and
hundreds of MB, and the GUI must start without them. Core modules call `keras()` or `tf()`
inside the functions that need them."""

from __future__ import annotations

import gc
import logging
import os
import warnings
from contextlib import contextmanager
from functools import lru_cache

log = logging.getLogger(__name__)

# Keras 3 warns once per nested container a weights file lacks (a hundred lines for one
# MobileNetV2 saved by another Keras version), each time a file is loaded.
NESTED_CONTAINER_WARNING = "Skipping nested container"


@lru_cache(maxsize=None)
def tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _no_gc_pauses():
        import tensorflow

    return tensorflow


@lru_cache(maxsize=None)
def keras():
    tf()  # the TensorFlow backend, configured above
    with _no_gc_pauses():
        import keras as keras_module

    return keras_module


@contextmanager
def _no_gc_pauses():
    """TensorFlow and Keras leave ~270,000 objects that live until exit. Python's cyclic GC
    walks them all in every full collection, holding the GIL for 100-300 ms each time: the
    window freezes while a worker thread imports TensorFlow and again during later trainings
    (bench/bench_responsiveness.py measures it). So: no collections during the import, and
    what it made is then frozen out of the collector's reach (gc.freeze)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def gpu_count() -> int:
    return len(tf().config.list_physical_devices("GPU"))


_multi_worker = []  # the MultiWorkerMirroredStrategy of `mbv2gui train --distributed`, if any


@lru_cache(maxsize=None)
def strategy():
    """The distribution strategy models are built and trained under: the several machines' one
    after `use_multi_worker()`, else `MirroredStrategy` over the local GPUs when there is more
    than one (each batch split across them, see core/training/distributed.py), else
    TensorFlow's default (one device). Made once: building a strategy looks at every device."""
    if _multi_worker:
        return _multi_worker[0]
    if gpu_count() > 1:
        return tf().distribute.MirroredStrategy()
    return tf().distribute.get_strategy()


def use_multi_worker(timeout_s: float = 60.0):
    """Trains across the machines the TF_CONFIG variable names (every one runs the same
    command); must come before TensorFlow does anything else in this process. A machine that
    stops answering fails the collective operations after `timeout_s` instead of hanging."""
    t = tf()
    options = t.distribute.experimental.CommunicationOptions(timeout_seconds=timeout_s)
    _multi_worker[:] = [t.distribute.MultiWorkerMirroredStrategy(communication_options=options)]
    strategy.cache_clear()
    return _multi_worker[0]


def spread_over_machines() -> bool:
    """Whether this training runs on several machines (`use_multi_worker`): they must all run
    the same steps, so nothing may be sized from one machine's own clock."""
    return bool(_multi_worker)


def is_chief() -> bool:
    """Whether this process writes the run: the "chief" task, else worker 0 (TF's rule), or
    the one process of a training that is not spread over machines."""
    if not _multi_worker:
        return True
    resolver = _multi_worker[0].cluster_resolver
    kind, index = resolver.task_type, resolver.task_id
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return kind in (None, "chief") or (kind == "worker" and index == 0 and not has_chief)


def set_precision_policy() -> str:
    """mixed_float16 only where a GPU does float16 fast; on a CPU it would only slow things.
    Not mixed_bfloat16 either, even on a CPU with AVX512-BF16: from scratch at 96 px (sign
    digits, 20 epochs, 2 cores) it trained at 0.89x the speed of float32 and reached 45% instead
    of 57% validation accuracy (bench/bench_bf16.py)."""
    policy = "mixed_float16" if gpu_count() > 0 else "float32"
    keras().mixed_precision.set_global_policy(policy)
    return policy


def set_seed(seed: int) -> None:
    keras().utils.set_random_seed(int(seed))


@contextmanager
def quiet_weights_loading(path):
    """Loads weights without Keras' wall of "Skipping nested container … will retain their
    freshly-initialized weights" warnings: they are counted and said in one sentence on the log
    (the part that matters: some layers of `path` kept their starting weights). Any other
    warning passes through as it would have."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    skipped = 0
    for warning in caught:
        if NESTED_CONTAINER_WARNING in str(warning.message):
            skipped += 1
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                   warning.lineno)
    if skipped:
        log.warning(weights_skipped_sentence(path, skipped))


@contextmanager
def weights_notes_to(report):
    """While a job runs: the sentences `quiet_weights_loading` logs also reach its report (the
    Train view's log pane), as warnings, not only the terminal."""
    class _Forward(logging.Handler):
        def emit(self, record):
            report({"type": "message", "text": record.getMessage(), "level": "warning"})

    handler = _Forward(logging.WARNING)
    log.addHandler(handler)
    try:
        yield
    finally:
        log.removeHandler(handler)


def weights_skipped_sentence(path, groups: int) -> str:
    return (f"{os.path.basename(str(path))} was saved by another Keras version: {groups} "
            f"group{'' if groups == 1 else 's'} of layers were not found in it and keep their "
            "starting weights; the rest loaded.")
