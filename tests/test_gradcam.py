"""Grad-CAM: the map has the image's size and range, the probabilities are the model's, a map
with no positive evidence is zeros (not NaN), the overlay blends, and — the point of it — on a
MobileNetV2 trained from scratch to tell noise with a bright square from noise without, the
heat sits on the square."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mbv2gui.core.gradcam import GradCam, gradcam, overlay
from mbv2gui.core.runs import Run
from mbv2gui.core.train import TrainConfig, train

SIZE = 128  # MobileNetV2's out_relu is SIZE/32 = 4x4 cells: enough room to localise
SQUARE = 24
CENTER = 20  # the square sits in the top-left quadrant, jittered a few pixels


def noise_image(seed: int, marked: bool) -> tuple[np.ndarray, tuple[int, int] | None]:
    """Gray noise; `marked` adds a bright square near the top-left corner. Returns the image
    and the square's top-left corner (None when unmarked)."""
    rng = np.random.default_rng(seed)
    gray = np.clip(rng.normal(110, 15, (SIZE, SIZE, 1)), 0, 255)
    pixels = np.repeat(gray, 3, axis=2)
    corner = None
    if marked:
        cy, cx = CENTER + rng.integers(-3, 4, 2)
        corner = (int(cy) - SQUARE // 2, int(cx) - SQUARE // 2)
        pixels[corner[0]:corner[0] + SQUARE, corner[1]:corner[1] + SQUARE] = 245
    return pixels.astype(np.uint8), corner


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Run:
    root = tmp_path_factory.mktemp("gradcam")
    for name, marked, offset in (("marked", True, 0), ("plain", False, 10_000)):
        folder = root / "data" / name
        folder.mkdir(parents=True)
        for i in range(32):
            Image.fromarray(noise_image(offset + i, marked)[0]).save(folder / f"{name}_{i:03d}.png")
    # Random shifts only (the square stays in its corner for the check, but the network learns
    # a detector that fires where the square is); BatchNorm statistics that follow quickly.
    # Checked with seeds 0..3: held-out accuracy 100%, inside/outside heat ratio >= 1.8.
    config = TrainConfig(image_size=SIZE, alpha=0.35, weights="none", epochs=25, batch_size=16,
                         bn_momentum=0.5, augment_flip=False, augment_rotation=False,
                         augment_shift=True, augment_zoom=False)
    return train(root / "data", config, run_dir=root / "run")


def test_the_heat_sits_on_the_square(trained):
    run = trained
    assert run.metrics["val_accuracy"] >= 0.9  # else the map has nothing to show
    model = Run.load(run.run_dir).load_model()  # the saved model file, as the app loads it
    marked = run.class_names.index("marked")
    ratios, total = [], np.zeros((SIZE, SIZE), dtype=np.float64)
    for seed in range(50_000, 50_006):  # images the model never saw
        image, (y0, x0) = noise_image(seed, marked=True)
        result = gradcam(model, image)
        assert result.class_index == marked, result.probabilities  # None: the predicted class
        inside = np.zeros((SIZE, SIZE), dtype=bool)
        inside[y0:y0 + SQUARE, x0:x0 + SQUARE] = True
        heat = result.heatmap
        ratios.append(float(heat[inside].mean() / max(1e-6, heat[~inside].mean())))
        total += heat
    # MobileNetV2's receptive fields span the whole image, so the heat spreads past the square
    # into the cells next to it; it must still be clearly higher on the square than elsewhere,
    # on average and on every image, and far higher in the square's quadrant than the opposite.
    half = SIZE // 2
    quadrants = float(total[:half, :half].mean() / max(1e-6, total[half:, half:].mean()))
    print(f"ratios {np.round(ratios, 2).tolist()} quadrants {quadrants:.2f}")
    assert np.mean(ratios) >= 1.5 and min(ratios) >= 1.2, ratios
    assert quadrants >= 2.0, quadrants
    assert model._mbv2_gradcam is not None  # the traced pass is kept on the model


def test_map_size_range_and_probabilities(trained):
    model = trained.load_model()
    rng = np.random.default_rng(3)
    for image in (rng.integers(0, 256, (77, 130, 3), dtype=np.uint8),  # odd size, not square
                  rng.integers(0, 256, (41, 33), dtype=np.uint8)):  # grayscale
        result = gradcam(model, image)
        assert isinstance(result, GradCam)
        assert result.heatmap.shape == image.shape[:2] and result.heatmap.dtype == np.float32
        assert np.isfinite(result.heatmap).all()
        assert result.heatmap.min() >= 0.0 and result.heatmap.max() <= 1.0
        rgb = np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image
        expected = np.asarray(model(rgb[None].astype(np.float32), training=False))[0]
        assert result.probabilities.shape == (2,)
        assert result.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
        np.testing.assert_allclose(result.probabilities, expected, atol=1e-5)
        assert result.class_index == int(np.argmax(expected))
    other = 1 - result.class_index
    chosen = gradcam(model, image, class_index=other)
    assert chosen.class_index == other and np.isfinite(chosen.heatmap).all()
    with pytest.raises(ValueError):
        gradcam(model, image, class_index=5)


def test_no_evidence_gives_zeros_not_nan(trained):
    """A classifier whose weights are all zero has zero gradients: the map is all zeros."""
    from mbv2gui.core.tfsetup import keras

    model = keras().models.clone_model(trained.load_model())
    model.set_weights(trained.load_model().get_weights())
    dense = model.get_layer("classifier")
    dense.set_weights([np.zeros_like(w) for w in dense.get_weights()])
    result = gradcam(model, np.full((50, 60, 3), 128, dtype=np.uint8))
    assert result.heatmap.shape == (50, 60)
    assert np.array_equal(result.heatmap, np.zeros((50, 60), dtype=np.float32))
    np.testing.assert_allclose(result.probabilities, [0.5, 0.5], atol=1e-6)


def test_overlay_blends_a_colormap():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (30, 45, 3), dtype=np.uint8)
    heat = np.tile(np.linspace(0, 1, 45, dtype=np.float32), (30, 1))
    assert np.array_equal(overlay(image, heat, 0.0), image)
    half = overlay(image, heat, 0.5)
    assert half.dtype == np.uint8 and half.shape == image.shape
    assert not np.array_equal(half, image)
    full = overlay(image, heat, 1.0)  # the colormap alone: cold is blue, hot is red
    assert full[0, 0, 2] > full[0, 0, 0] and full[0, -1, 0] > full[0, -1, 2]
    assert np.array_equal(overlay(image, heat, 1.0)[:, :10], overlay(image * 0, heat, 1.0)[:, :10])
    gray = overlay(image[:, :, 0], heat[::2, ::3], 0.3)  # grayscale, a map of another size
    assert gray.shape == (30, 45, 3) and gray.dtype == np.uint8
