"""Small images at a large input size: the preflight says so as a suggestion (never a change)."""

from mbv2gui.core.store.project import NewImage, Project
from mbv2gui.core.training.preflight import check_training_data, input_size_suggestion


def _project(tmp_path, sizes):
    project = Project.create(tmp_path / "p.mbv2")
    images = [NewImage(f"/nowhere/{label}/{i}.png", 10, 0.0, f"{label}-{i}", w, h, "ok", None,
                       label)
              for label in ("cat", "dog") for i, (w, h) in enumerate(sizes)]
    project.add_images(images)
    return project


def test_32_px_photos_at_224_px_are_said_to_cost_5_times_96_px(tmp_path):
    project = _project(tmp_path, [(32, 32)] * 9 + [(200, 150)])
    problems = check_training_data(project, from_scratch=True, image_size=224)
    [small] = [p for p in problems if p.kind == "small_images"]
    assert not small.blocking
    assert small.text == ("Most of the images are 32 px or smaller across, and training enlarges "
                          "them to 224 px: about 5× the computing of 96 px, and no detail is "
                          "gained. An image size of 96 × 96 px (Advanced settings) would train "
                          "faster.")


def test_nothing_under_96_px_is_suggested_even_for_32_px_photos(tmp_path):
    """MobileNetV2 needs the room: from scratch on 32 px photos, 32 px scored 37% where 96 px
    scored 59% (bench/bench_scratch_recipe.py), so 96 px is not called a waste."""
    project = _project(tmp_path, [(32, 32)] * 10)
    assert "small_images" not in [p.kind for p in check_training_data(
        project, from_scratch=True, image_size=96)]
    assert "96 × 96 px" in input_size_suggestion([32] * 8, 128, from_scratch=True).text


def test_no_suggestion_when_the_images_are_as_large_as_the_input_or_no_size_is_given(tmp_path):
    project = _project(tmp_path, [(120, 90)] * 10)
    assert "small_images" not in [p.kind for p in check_training_data(project, image_size=96)]
    (tmp_path / "small").mkdir()
    small = _project(tmp_path / "small", [(32, 32)] * 10)
    assert "small_images" in [p.kind for p in check_training_data(small, from_scratch=True,
                                                                  image_size=160)]
    assert "small_images" not in [p.kind for p in check_training_data(small, from_scratch=True)]


def test_with_pretrained_weights_only_sizes_imagenet_has_are_suggested():
    sides = [40] * 8
    assert input_size_suggestion(sides, 96, 0.35, from_scratch=False) is None  # 96 is the least
    suggestion = input_size_suggestion(sides, 224, 0.35, from_scratch=False)
    assert "enlarges them to 224 px: about 5×" in suggestion.text
    assert "96 × 96 px" in suggestion.text
    assert "96 × 96 px" in input_size_suggestion(sides, 224, 0.35, from_scratch=True).text
    assert "128 × 128 px" in input_size_suggestion([120] * 8, 224, 0.35, from_scratch=True).text


def test_a_quarter_of_small_images_is_not_most():
    assert input_size_suggestion([32] * 5 + [300] * 5, 224, from_scratch=True) is None
    assert input_size_suggestion([], 224, from_scratch=True) is None
