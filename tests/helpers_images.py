"""Tiny, class-separable image trees for training tests (any engineer may reuse them).

Each class gets a distinct background color and shape, with a little per-image noise, position
jitter and brightness change, so that even a few epochs of a tiny network tell them apart, yet
no two files are identical (their content hashes differ).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

# name -> (background RGB, shape)
DEFAULT_CLASSES = {
    "red": ((210, 40, 40), "circle"),
    "blue": ((40, 60, 210), "square"),
    "green": ((40, 180, 60), "cross"),
}


def make_image(color, shape: str, size: int = 32, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    base = np.clip(np.array(color) + rng.integers(-25, 26, 3), 0, 255)
    pixels = np.clip(base + rng.normal(0, 12, (size, size, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    s = size // 4
    cx, cy = (size // 2 + int(rng.integers(-size // 8, size // 8 + 1)) for _ in range(2))
    if shape == "circle":
        draw.ellipse((cx - s, cy - s, cx + s, cy + s), fill=(255, 255, 255))
    elif shape == "square":
        draw.rectangle((cx - s, cy - s, cx + s, cy + s), fill=(0, 0, 0))
    elif shape == "cross":
        draw.line((cx - s, cy - s, cx + s, cy + s), fill=(255, 255, 0), width=max(1, size // 10))
        draw.line((cx - s, cy + s, cx + s, cy - s), fill=(255, 255, 0), width=max(1, size // 10))
    return image


def make_class_tree(root, classes: dict | list | None = None, per_class: int | dict = 6,
                    size: int = 32, formats=("png", "jpg")) -> dict[str, list[Path]]:
    """root/<class>/<class>_<i>.<fmt> files; returns {class: [paths]}.

    `classes`: a dict name -> (color, shape), or a list of names taken from DEFAULT_CLASSES
    (in that order), or None for all of DEFAULT_CLASSES. `per_class` may be a dict per class.
    Formats alternate between the given extensions."""
    if classes is None:
        classes = DEFAULT_CLASSES
    elif isinstance(classes, (list, tuple)):
        classes = {name: DEFAULT_CLASSES[name] for name in classes}
    made = {}
    for k, (name, (color, shape)) in enumerate(classes.items()):
        folder = Path(root) / name
        folder.mkdir(parents=True, exist_ok=True)
        count = per_class[name] if isinstance(per_class, dict) else per_class
        made[name] = []
        for i in range(count):
            fmt = formats[i % len(formats)]
            path = folder / f"{name}_{i:03d}.{fmt}"
            make_image(color, shape, size, seed=1000 * k + i).save(path, quality=95)
            made[name].append(path)
    return made


def random_backbone(alpha: float = 0.35, image_size: int = 32):
    """A randomly initialised MobileNetV2 (no top) with usable BatchNorm statistics. Imports
    TensorFlow."""
    import keras

    # Seeded: an unseeded random backbone sometimes gives features too poor for a head to
    # learn three colours from (test_predict_core failed about one run in two).
    keras.utils.set_random_seed(0)
    backbone = keras.applications.MobileNetV2(input_shape=(image_size, image_size, 3),
                                              alpha=alpha, include_top=False, weights=None)
    # Calibrate BatchNorm on noise (momentum 0: the statistics of one batch), so the frozen
    # random backbone's features have a usable scale instead of vanishing.
    noise = np.random.default_rng(0).uniform(-1, 1, (16, image_size, image_size, 3))
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.0
    backbone(noise.astype("float32"), training=True)
    return backbone


def random_backbone_weights(path, alpha: float = 0.35, image_size: int = 32) -> Path:
    """A MobileNetV2 (no top) weights file from a randomly initialised backbone: lets tests take
    the "pretrained weights file" route without ImageNet. Imports TensorFlow."""
    path = Path(path)
    random_backbone(alpha, image_size).save_weights(path)
    return path


def imagenet_style_weights(path, alpha: float = 0.35, image_size: int = 96):
    """A random backbone's weights in Keras' legacy `.h5` layout, the one ImageNet's
    `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_*_no_top.h5` files use. Returns (path,
    the backbone's weights as a list of arrays)."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    backbone = random_backbone(alpha, image_size)
    path = Path(path)
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, backbone)
    return path, [np.array(w) for w in backbone.get_weights()]
