"""The network run forward without training it, on the fastest CPU runtime the machine has.

Every job that only runs a model forward (the feature cache, prediction, suggestions, the
likely-mislabeled folds) asks `forward_for(model, folder, report)` (or `run_forward(run)`) for
a function from a batch of (n, S, S, 3) images (uint8 or float, 0..255) to the model's output.

LiteRT and ONNX Runtime run MobileNetV2 on a CPU faster than Keras (bench/bench_runtime.py,
bench/bench_runtime_choice.py). A model is converted once, by the export's own conversion
(core/export), to the first runtime in RUNTIMES that converts it and answers like Keras, into
`folder` under a key made of the model's content (layers and weights: a changed model file is
a new key). The check, when it is made: the largest difference from Keras' outputs within
TOLERANCE, and the same top class wherever Keras' top two are not tied. A model no runtime
can convert, load or match runs on Keras instead, and the job is told so in a message; the
failure is remembered beside the model so it is not paid again.

Grad-CAM keeps Keras: it needs gradients. Training keeps Keras: its weights change every step.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np

from mbv2gui.core.jobs import ignore_events, message

FORMAT = 1  # part of every key: bump it when the conversion changes, old files are then unused
TOLERANCE = 1e-3  # largest difference allowed, relative to the largest Keras output (or 1)
CHECK_IMAGES = 8
FALLBACK = "Running the model on Keras (slower) because the fast runtime could not be used"

# A conversion costs 2-5 s (tf2onnx, then the check; "conversion_seconds" in
# bench/bench_runtime.py) and saves about 1-2 ms per image (at 96 px: Keras ~900-1,300 img/s,
# the fast runtimes 2,000-4,000): a job with fewer images than this runs on Keras unless the
# model was converted before, since converting would cost it more than it saves.
CONVERT_FROM = 2000

# The runtimes tried in order, and their files' suffixes. ONNX Runtime first: its conversion
# takes 2-5 s where LiteRT's (a SavedModel, then the TFLite converter) took 19-23 s, which a job
# of a few thousand images never earns back, though LiteRT (XNNPACK) ran 1.39x ONNX Runtime's
# speed at 96 px alpha 0.35 and 1.43x at 224 px alpha 1.0 in batches of 32 on 2 cores
# (bench/bench_runtime_choice.py, bench/bench_runtime.py). OpenVINO: not measured, not a
# dependency.
RUNTIMES = {"onnxruntime": ".onnx", "litert": ".tflite"}

conversions = 0  # how many models were converted in this process (the tests count them)


class Forward:
    """A batch in, the model's output out; `runtime` says which runtime answers."""

    def __init__(self, call: Callable, runtime: str, check: dict | None = None):
        self._call, self.runtime, self.check = call, runtime, check or {}

    def __call__(self, batch) -> np.ndarray:
        return self._call(batch)


def forward_for(model, folder: Path | None, report: Callable = ignore_events,
                prune: bool = False, size: int | None = None,
                images: int | None = None) -> Forward:
    """The fastest forward pass of a Keras `model` for batches of (n, size, size, 3) images
    (`size`: the model's own input size when it has one; the classifier takes any size).

    `folder` holds the converted model (None: the user's cache folder). `prune` removes the
    conversions of other models there (a folder that belongs to one model, a run's).
    `images`: how many images the job will run; fewer than CONVERT_FROM use Keras unless the
    model is converted already (None: convert whatever the count)."""
    keras_forward = _keras(model)
    size = int(size or model.input_shape[1])
    try:
        key = model_key(model, size)
    except Exception as exc:  # noqa: BLE001 - a model we cannot even hash still runs on Keras
        return _fall_back(keras_forward, report, f"{type(exc).__name__}: {exc}")
    folder = Path(folder) if folder else default_folder()
    convert = images is None or images >= CONVERT_FROM
    fast, reason = _load_or_convert(model, keras_forward, folder, key, prune, size, convert)
    return fast if reason is None else _fall_back(keras_forward, report, reason)


def run_forward(run, report: Callable = ignore_events, images: int | None = None) -> Forward:
    """The run's classifier at its image size, its conversion in the run folder. Kept on the
    loaded model, so a job predicting in chunks hashes and opens it once."""
    model = run.load_model()
    kept = getattr(model, "_mbv2_runtime", None)
    if kept is not None and (kept.runtime != "keras" or "fallback_reason" in kept.check):
        return kept
    forward = forward_for(model, run_folder(run), report, prune=True,
                          size=int(run.config.image_size), images=images)
    if forward.runtime != "keras" or "fallback_reason" in forward.check:
        model._mbv2_runtime = forward
    return forward


def default_folder() -> Path:
    from mbv2gui.core.store.sidecar import features_folder

    return features_folder(None) / "runtime"  # the user's feature cache: shared by projects


def run_folder(run) -> Path:
    """Where a run's converted model lives: beside its model file, in the run folder."""
    return Path(run.run_dir) / "runtime"


def model_key(model, size: int) -> str:
    """A digest of the model's layers (each one's kind and settings), weights and the input size
    it is run at. Not of layer names: Keras numbers the ones nobody named ("input_layer_3"),
    so the same backbone built again in one process would otherwise never find its conversion."""
    digest = hashlib.sha256(f"format {FORMAT} size {size}\n".encode())
    for layer in _leaf_layers(model):
        settings = {k: v for k, v in layer.get_config().items() if k != "name"}
        digest.update(f"{type(layer).__name__} {json.dumps(settings, sort_keys=True, default=str)}\n"
                      .encode())
    for weight in model.weights:
        value = np.ascontiguousarray(weight.numpy())
        digest.update(f"{value.dtype} {value.shape}\n".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()[:32]


def _leaf_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers"):
            yield from _leaf_layers(layer)
        else:
            yield layer


def _keras(model) -> Forward:
    from mbv2gui.core.training.model import compiled_forward

    return Forward(compiled_forward(model), "keras")


def _fall_back(keras_forward: Forward, report: Callable, reason: str) -> Forward:
    report(message(f"{FALLBACK} ({reason.splitlines()[0][:200]}).", "info"))
    keras_forward.check = {"fallback_reason": reason}
    return keras_forward


def _load_or_convert(model, keras_forward, folder: Path, key: str, prune: bool, size: int,
                     convert: bool):
    """(Forward, None) from the cached or a new conversion, or (None, the reason why not)."""
    check_file = folder / f"{key}.json"
    check = _read_json(check_file)
    if check and not check.get("ok") and check.get("versions") == _versions():
        return None, check.get("reason", "it failed its check")  # remembered: not paid again
    if check and check.get("ok") and check.get("runtime") in RUNTIMES:
        name = check["runtime"]
        try:
            return Forward(_open(name, _model_file(folder, key, name)), name, check), None
        except Exception:  # noqa: BLE001 - a damaged cached file: convert it again below
            pass
    if not convert:
        return keras_forward, None  # a choice, not a failure: nothing to tell
    reasons, call = [], None
    for name in RUNTIMES:  # fastest first; the next one if it cannot convert or match Keras
        try:
            folder.mkdir(parents=True, exist_ok=True)
            call, check = _convert_and_check(model, keras_forward, folder, key, name, size)
            break
        except Exception as exc:  # noqa: BLE001 - any converter or runtime failure: the next
            reasons.append(f"{name}: {_reason(exc)}")
    if call is None:
        check = {"ok": False, "reason": "; ".join(reasons), "versions": _versions()}
    try:
        _write_json(check_file, check)
        if prune:
            _remove_others(folder, key)
    except OSError:
        pass  # a read-only folder: the conversion is used now and made again next time
    return (Forward(call, check["runtime"], check), None) if call else (None, check["reason"])


def _model_file(folder: Path, key: str, runtime: str) -> Path:
    return folder / f"{key}{RUNTIMES[runtime]}"


def _convert_and_check(model, keras_forward, folder: Path, key: str, runtime: str, size: int):
    global conversions
    conversions += 1
    target = _model_file(folder, key, runtime)
    temporary = target.with_name(f"{key}.{os.getpid()}.tmp{target.suffix}")
    try:
        _convert(runtime, model, size, temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    call = _open(runtime, target)
    check = compare(keras_forward(check_batch(size)), call(check_batch(size)))
    if not check["ok"]:
        target.unlink(missing_ok=True)
        raise ValueError(f"its answers differ from Keras' (largest difference "
                         f"{check['max_difference']:.2g}, top class agreement "
                         f"{check['top1_agreement']:.0%})")
    return call, dict(check, runtime=runtime)


def _convert(runtime: str, model, size: int, path: Path) -> None:
    """The export's own conversions (core/export): one conversion per format in the app."""
    if runtime == "litert":
        from mbv2gui.core.export.tflite import convert_to_tflite

        convert_to_tflite(model, size, path)
    else:
        from mbv2gui.core.export.onnx import convert_to_onnx

        convert_to_onnx(model, (None, size, size, 3), path)


def _open(runtime: str, path: Path) -> Callable:
    """A batch -> output function on the runtime, using every core. A LiteRT interpreter is
    not thread-safe: the lock makes one Forward safe to share (the jobs run one at a time)."""
    threads = os.cpu_count() or None
    if runtime == "litert":
        import threading

        from mbv2gui.core.export.tflite import runner as litert_runner

        run, _ = litert_runner(path, threads)
        lock = threading.Lock()

        def locked(batch):
            with lock:
                return run(np.asarray(batch, np.float32))

        return locked
    from mbv2gui.core.export.onnx import runner as onnx_runner

    return onnx_runner(path, threads)[0]


def check_batch(size: int) -> np.ndarray:
    """Images with structure (gradients, blocks) and noise, the same every time."""
    rng = np.random.default_rng(17)
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    images = []
    for i in range(CHECK_IMAGES):
        base = np.stack([np.add.outer(ramp * (i % 3) / 2, ramp[::-1] * (i % 2))] * 3, -1) / 2
        base[: size // 2, (i * size) // CHECK_IMAGES:] *= (i + 1) / CHECK_IMAGES
        noise = rng.normal(0, 24, (size, size, 3))
        images.append(np.clip(base + noise + rng.uniform(0, 96, 3), 0, 255))
    return np.asarray(images, dtype=np.uint8)


def compare(reference: np.ndarray, candidate: np.ndarray) -> dict:
    """The check of a conversion: the largest difference, and top-1 agreement where Keras'
    own top two differ by more than that difference (a tie may go either way)."""
    reference, candidate = np.asarray(reference, np.float32), np.asarray(candidate, np.float32)
    if reference.shape != candidate.shape:
        return {"ok": False, "max_difference": float("inf"), "top1_agreement": 0.0}
    difference = float(np.max(np.abs(reference - candidate)))
    allowed = TOLERANCE * max(1.0, float(np.max(np.abs(reference))))
    top = np.sort(reference, axis=1)
    decided = (top[:, -1] - top[:, -2]) > 2 * difference if reference.shape[1] > 1 else \
        np.ones(len(reference), bool)
    same = reference.argmax(1) == candidate.argmax(1)
    agreement = float(np.mean(same))
    return {"ok": bool(difference <= allowed and np.all(same[decided])),
            "max_difference": difference, "allowed_difference": allowed,
            "top1_agreement": agreement}


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("tf2onnx", "onnxruntime", "ai-edge-litert", "tensorflow"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def _reason(exc: BaseException) -> str:
    detail = getattr(exc, "detail", None)
    text = str(getattr(exc, "message", None) or exc) or type(exc).__name__
    return f"{text} {detail}".strip() if detail else text


def _read_json(file: Path):
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_json(file: Path, data: dict) -> None:
    temporary = file.with_name(f"{file.stem}.{os.getpid()}.tmp.json")
    temporary.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(temporary, file)


def _remove_others(folder: Path, key: str) -> None:
    for file in folder.iterdir():
        if file.suffix in (".onnx", ".tflite", ".json") and not file.name.startswith(key):
            file.unlink(missing_ok=True)
