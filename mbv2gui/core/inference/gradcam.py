"""Grad-CAM: where in the image the classifier looked for a class (Selvaraju et al., 2017).

The map is taken at the backbone's last conv block output `out_relu`. In Keras 3 a nested
model's inner layer cannot be reached from the outer model's inputs, so it is computed in two
stages with the saved model's own layers (looked up by name, see core/training/model.py):
  1. `resize` -> `scale` -> `backbone`: the backbone's output IS `out_relu`, the feature map A;
  2. `pool` -> `dropout` (inference) -> `classifier` on A under a GradientTape watching A.
The score differentiated is the class's pre-softmax logit (as in the paper): the softmax output
saturates at ~1 for a confident answer, and its gradients, and so the map, vanish.
weights_k = mean over H,W of d(score)/dA_k; cam = relu(sum_k weights_k A_k), scaled to [0, 1]
and resized (bilinear, half-pixel centres like tf.image.resize) to the image's size. A map with
nothing positive is all zeros.

Qt-free; TensorFlow is imported only when `gradcam` runs. `overlay` is plain numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class GradCam:
    heatmap: np.ndarray  # float32 HxW in [0, 1], the image's H, W
    probabilities: np.ndarray  # float32 (n_classes,), the model's answer on the image
    class_index: int  # the class the map is for


def as_rgb(image: np.ndarray) -> np.ndarray:
    """HxW, HxWx1, HxWx3 or HxWx4 (alpha dropped), any numeric dtype -> uint8 HxWx3."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4) or 0 in image.shape[:2]:
        raise ValueError(f"expected an HxW or HxWx(1|3|4) image, got shape {image.shape}")
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    elif image.shape[2] == 4:
        image = image[:, :, :3]
    if image.dtype != np.uint8:
        image = np.clip(np.rint(image.astype(np.float64)), 0, 255).astype(np.uint8)
    return image


def _traced(model):
    """The traced two-stage pass for `model`, made once and kept on the model."""
    cached = getattr(model, "_mbv2_gradcam", None)
    if cached is not None:
        return cached
    from mbv2gui.core.training.tfsetup import tf

    t = tf()
    resize, scale, backbone = (model.get_layer(n) for n in ("resize", "scale", "backbone"))
    pool, dropout, classifier = (model.get_layer(n) for n in ("pool", "dropout", "classifier"))

    def run(image, class_index):
        features = t.cast(backbone(scale(resize(image)), training=False), t.float32)
        with t.GradientTape() as tape:
            tape.watch(features)
            pooled = t.cast(pool(features), t.float32)
            hidden = t.cast(dropout(pooled, training=False), t.float32)
            probabilities = t.cast(classifier(hidden, training=False), t.float32)
            logits = t.matmul(hidden, t.cast(classifier.kernel, t.float32))
            if classifier.bias is not None:
                logits += t.cast(classifier.bias, t.float32)
            chosen = t.where(class_index < 0, t.cast(t.argmax(probabilities[0]), t.int32),
                             class_index)
            score = logits[0, chosen]
        gradients = tape.gradient(score, features)  # 1 x h x w x k
        weights = t.reduce_mean(gradients, axis=(1, 2), keepdims=True)
        cam = t.nn.relu(t.reduce_sum(weights * features, axis=-1))[0]  # h x w
        top = t.reduce_max(cam)
        cam = t.where(top > 0, cam / t.maximum(top, 1e-12), t.zeros_like(cam))
        cam = t.where(t.math.is_finite(cam), cam, t.zeros_like(cam))
        return cam, probabilities[0], chosen

    traced = t.function(run, input_signature=[t.TensorSpec((1, None, None, 3), t.float32),
                                              t.TensorSpec((), t.int32)])

    def call(image, class_index):  # a plain function, as compiled_forward keeps: a tf.function
        return traced(image, class_index)  # attribute would be tracked into saves and exports

    model._mbv2_gradcam = call
    return call


def gradcam(model, image: np.ndarray, class_index: int | None = None) -> GradCam:
    """The Grad-CAM map of `model` (a saved mbv2gui classifier, see core/training/model.py) on one image
    (uint8 RGB HxWx3 at its own size; grayscale or RGBA accepted) for `class_index`, or for
    the predicted class when None."""
    rgb = as_rgb(image)
    if class_index is not None:
        n = int(model.get_layer("classifier").units)
        if not 0 <= int(class_index) < n:
            raise ValueError(f"class_index {class_index} is outside 0..{n - 1}")
    cam, probabilities, chosen = _traced(model)(
        rgb[None].astype(np.float32), np.int32(-1 if class_index is None else class_index))
    resize = model.get_layer("resize")
    heat = upsample(cam.numpy(), rgb.shape[:2], (int(resize.height), int(resize.width)))
    return GradCam(heat, probabilities.numpy().astype(np.float32), int(chosen.numpy()))


def upsample(cam: np.ndarray, image_shape: tuple[int, int], model_shape: tuple[int, int]):
    """The feature-grid map -> float32 at the image's H, W, bilinear (half-pixel centres),
    through the model's own resize to `model_shape` (which is the same as resizing straight
    to the image's size when the grid divides the model's input evenly)."""
    axes = []
    for out, size, cells in zip(image_shape, model_shape, cam.shape):
        stride = size / cells  # cell i covers model pixels [i * stride, (i + 1) * stride)
        offset = stride / 2 - 0.5
        model_pixel = (np.arange(out, dtype=np.float64) + 0.5) * size / out - 0.5
        grid = np.clip((model_pixel - offset) / stride, 0.0, cells - 1)
        low = np.floor(grid).astype(int)
        high = np.minimum(low + 1, cells - 1)
        axes.append((low, high, grid - low))
    (y0, y1, fy), (x0, x1, fx) = axes
    fy, fx = fy[:, None], fx[None, :]
    top = cam[y0][:, x0] * (1 - fx) + cam[y0][:, x1] * fx
    bottom = cam[y1][:, x0] * (1 - fx) + cam[y1][:, x1] * fx
    heat = top * (1 - fy) + bottom * fy
    return np.clip(np.nan_to_num(heat), 0.0, 1.0).astype(np.float32)


def colormap(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> uint8 RGB with a jet-like colormap (blue, cyan, yellow, red)."""
    x = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float32)), 0.0, 1.0)[..., None]
    centers = np.array([0.75, 0.5, 0.25], dtype=np.float32)  # r, g, b
    rgb = np.clip(1.5 - np.abs(4.0 * (x - centers)), 0.0, 1.0)
    return np.rint(rgb * 255.0).astype(np.uint8)


def overlay(image: np.ndarray, heatmap: np.ndarray, opacity: float) -> np.ndarray:
    """The heat map's colors blended over the image: uint8 RGB of the image's shape. Opacity 0
    gives the image, 1 the colormap alone. A map of another size is resized to the image."""
    rgb = as_rgb(image)
    heat = np.asarray(heatmap, dtype=np.float32)
    if heat.shape != rgb.shape[:2]:
        from PIL import Image

        resized = Image.fromarray(np.nan_to_num(heat).astype(np.float32)).resize(
            (rgb.shape[1], rgb.shape[0]), Image.BILINEAR)
        heat = np.asarray(resized, dtype=np.float32)
    alpha = float(np.clip(opacity, 0.0, 1.0))
    if alpha == 0.0:
        return rgb.copy()
    blended = (1.0 - alpha) * rgb.astype(np.float32) + alpha * colormap(heat).astype(np.float32)
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)
