"""An earlier model as the starting point of a training: `check_start_point(path, alpha, size)`.

The path may be a run folder (of this project or another), a `.keras` model the app made or
exported (a run's own `model.keras` included), or an `.h5` weights file (Keras' legacy layout,
as ImageNet's files are, or Keras 3's `.weights.h5`). It is checked the moment it is chosen,
cheaply and without TensorFlow (the zip's config.json, or the HDF5 file's layer names and
shapes), and refused in a sentence when it cannot work: other alpha or size, not MobileNetV2,
damaged or not a model file, or a model that contains code (a Lambda layer).
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path

from mbv2gui.core.errors import UserError
from mbv2gui.core.run_names import earlier_run
from mbv2gui.core.training.weights import IMAGENET_ALPHAS, Weights

_CHOOSE_ELSE = "choose a run folder, a .keras model or an .h5 weights file, or train from scratch"
_KNOWN_ALPHAS = sorted(set(IMAGENET_ALPHAS) | {0.25, 0.6, 0.9, 1.25, 1.5, 2.0})
_NAME_SIZE = re.compile(r"_(\d+)_no_top\.h5$")  # Keras' ImageNet file names carry the size


def expected_channels(alpha: float) -> int:
    """The channels out of MobileNetV2's last block at this alpha (Keras' _make_divisible of
    320 × alpha): what tells one alpha's weights from another's."""
    value = 320 * float(alpha)
    channels = max(8, int(value + 4) // 8 * 8)
    return channels + 8 if channels < 0.9 * value else channels


def alpha_for_channels(channels: int | None) -> float | None:
    return next((a for a in _KNOWN_ALPHAS if expected_channels(a) == channels), None)


def _names(values) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def h5_backbone_channels(f) -> int | None:
    """The channels out of the last block when the open HDF5 file `f` holds MobileNetV2
    weights (Keras' legacy layout, or Keras 3's), else None."""
    if "layer_names" in f.attrs:  # legacy: one group per layer, named as the layers are
        if not {"Conv1", "block_16_project", "Conv_1"} <= set(_names(f.attrs["layer_names"])):
            return None
        group = f["Conv_1"]
        kernel = next((group[n] for n in _names(group.attrs.get("weight_names", []))
                       if "kernel" in n), None)
    else:  # Keras 3: layers/<class-based name>/vars/0, in creation order
        layers = f.get("layers")
        if layers is None:
            return None
        convs = sorted((k for k in layers if re.fullmatch(r"conv2d(_\d+)?", k)),
                       key=lambda k: int(k.rsplit("_", 1)[1]) if "_" in k[6:] else 0)
        depthwise = [k for k in layers if k.startswith("depthwise_conv2d")]
        if len(convs) != 35 or len(depthwise) != 17:  # MobileNetV2's counts, any alpha
            return None
        kernel = layers[convs[-1]].get("vars/0")
    return int(kernel.shape[2]) if kernel is not None and len(kernel.shape) == 4 else None


def _mismatch(what: str, theirs_alpha, theirs_size, alpha: float, size: int) -> UserError:
    """`what` is "This model was trained" or "These weights are made"."""
    made = (f"at {theirs_size} px with alpha {theirs_alpha}" if theirs_size else
            f"for alpha {theirs_alpha}")
    other = "another model" if what.startswith("This model") else "other weights"
    return UserError(f"{what} {made}; your settings are {size} px, alpha {alpha}: choose those "
                     f"settings or {other}.")


def _damaged(path: Path, detail: str) -> UserError:
    return UserError(f"{path.name} is damaged or is not a model file; {_CHOOSE_ELSE}.", detail)


def _not_mobilenet(path: Path) -> UserError:
    return UserError(f"{path.name} is not a MobileNetV2 model or weights file, so it cannot be "
                     f"the starting point; {_CHOOSE_ELSE}.")


# ------------------------------------------------------------------------ .h5 weights
def _check_h5(path: Path, alpha: float, size: int) -> None:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            channels = h5_backbone_channels(f)
    except Exception as exc:  # noqa: BLE001 - OSError for non-HDF5, KeyError for odd layouts
        raise _damaged(path, str(exc)) from exc
    if channels is None:
        raise _not_mobilenet(path)
    named = _NAME_SIZE.search(path.name)
    their_size = int(named.group(1)) if named else None
    if channels != expected_channels(alpha) or (their_size and their_size != int(size)):
        raise _mismatch("These weights are made", alpha_for_channels(channels) or "of another width",
                        their_size, alpha, size)


# ------------------------------------------------------------------------ .keras models
def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _layer_name(layer: dict) -> str:
    return str((layer.get("config") or {}).get("name") or layer.get("name") or "")


def _mobilenet_in(config: dict) -> dict | None:
    """The (nested) model config whose layers are MobileNetV2's."""
    for node in _walk(config):
        layers = (node.get("config") or {}).get("layers") if "class_name" in node else None
        if isinstance(layers, list) and any(_layer_name(l) == "block_16_project" for l in layers
                                            if isinstance(l, dict)):
            return node
    return None


def _check_keras(path: Path, alpha: float, size: int) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()  # reads every member: a damaged file fails here
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
        raise _damaged(path, str(exc)) from exc
    if broken:
        raise _damaged(path, f"{broken} is damaged")
    if any(node.get("class_name") == "Lambda" for node in _walk(config)):
        raise UserError(f"{path.name} contains program code (a Lambda layer), which mbv2gui does "
                        f"not run from a file; {_CHOOSE_ELSE}.")
    backbone = _mobilenet_in(config)
    if backbone is None:
        raise _not_mobilenet(path)
    layers = [l for l in backbone["config"]["layers"] if isinstance(l, dict)]
    project = next(l for l in layers if _layer_name(l) == "block_16_project")
    channels = int(project["config"].get("filters") or 0)
    shape = next((l["config"].get("batch_shape") or l["config"].get("batch_input_shape")
                  for l in layers if l.get("class_name") == "InputLayer"), None)
    their_size = int(shape[1]) if shape and len(shape) == 4 and shape[1] else None
    if channels != expected_channels(alpha) or (their_size and their_size != int(size)):
        raise _mismatch("This model was trained", alpha_for_channels(channels) or "of another width",
                        their_size, alpha, size)


# ------------------------------------------------------------------------ runs
def _run_folder(path: Path) -> Path | None:
    if path.is_dir():
        return path
    if path.name == "model.keras" and (path.parent / "labels.txt").is_file():
        return path.parent
    return None


def _content_identity(prefix: str, path: Path) -> str:
    """The feature-cache identity of a starting point: its content, so another file (or the
    same name retrained) never reuses features computed with other weights."""
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"{prefix}-{digest.hexdigest()[:16]}"


def check_start_point(choice, alpha: float, size: int) -> Weights:
    """The Weights that start from this run folder, `.keras` model or `.h5` weights file, or a
    UserError saying in one sentence why it cannot (checked without TensorFlow)."""
    path = Path(str(choice)).expanduser()
    if not path.exists():
        raise UserError(f"{path} does not exist; {_CHOOSE_ELSE}.")
    run_dir = _run_folder(path)
    if run_dir is not None:
        path = run_dir / "model.keras"
        if not path.is_file():
            raise UserError(f"The folder {run_dir.name} is not a training run (it has no "
                            f"model.keras); {_CHOOSE_ELSE}.")
    if path.suffix.lower() == ".keras":
        _check_keras(path, alpha, size)
        origin = earlier_run(run_dir) if run_dir is not None else f"the model {path.name}"
        return Weights("model", str(path), f"Starting from {origin}: its backbone is reused and "
                       "the classifier is trained again for your classes.",
                       _content_identity("model", path), f"from {origin.split(' (')[0]}")
    _check_h5(path, alpha, size)
    return Weights("file", str(path), f"Starting from the weights in {path.name}.",
                   _content_identity("file", path), f"from {path.name}")
