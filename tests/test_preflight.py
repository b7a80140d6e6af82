"""Preflight: what stands between the labels and a training, in words, with the images."""

from mbv2gui.core.training.preflight import check_training_data
from mbv2gui.core.store.project import NewImage, Project


def add(project, label, count, status="ok", start=0):
    images = [NewImage(f"/nowhere/{label}/{status}_{start + i}.png", 10, 0.0,
                       f"{label}-{status}-{start + i}", 32, 32, status,
                       None if status == "ok" else "gone", label) for i in range(count)]
    ids, _ = project.add_images(images)
    return ids


def kinds(problems):
    return [(p.kind, p.blocking) for p in problems]


def test_no_classes_blocks(tmp_path):
    project = Project.create(tmp_path / "p.mbv2")
    problems = check_training_data(project)
    assert kinds(problems) == [("no_classes", True)]
    assert "no classes" in problems[0].text


def test_one_class_blocks_and_names_it(tmp_path):
    project = Project.create(tmp_path / "p.mbv2")
    add(project, "cats", 8)
    problems = check_training_data(project)
    assert kinds(problems) == [("one_class", True)]
    assert "“cats”" in problems[0].text and "two classes" in problems[0].text


def test_empty_class_blocks(tmp_path):
    project = Project.create(tmp_path / "p.mbv2")
    add(project, "cats", 6)
    add(project, "dogs", 6)
    project.add_class("birds")
    problems = check_training_data(project)
    assert kinds(problems) == [("empty_class", True)]
    assert "“birds” has no images" in problems[0].text


def test_few_images_warns_with_their_ids_and_single_image_blocks(tmp_path):
    project = Project.create(tmp_path / "p.mbv2")
    add(project, "cats", 6)
    dogs = add(project, "dogs", 3)
    birds = add(project, "birds", 1)
    problems = check_training_data(project)
    assert kinds(problems) == [("too_few_to_validate", True), ("few_images", False)]
    assert "“birds” has only 1 image" in problems[0].text and problems[0].image_ids == birds
    assert "“dogs” has only 3 images" in problems[1].text and problems[1].image_ids == dogs
    assert problems[1].caption == "The images of “dogs”"
    # With no validation split, one image is enough to start (a warning only).
    assert kinds(check_training_data(project, val_split=0)) == [("few_images", False)] * 2


def test_missing_and_unreadable_are_counted_warnings(tmp_path):
    project = Project.create(tmp_path / "p.mbv2")
    add(project, "cats", 6)
    add(project, "dogs", 6)
    missing = add(project, "dogs", 2, status="missing")
    unreadable = add(project, "cats", 1, status="unreadable")
    excluded = add(project, "cats", 1, status="unreadable", start=5)
    project.set_excluded({excluded[0]: True})
    project.add_images([NewImage("/nowhere/loose.png", 1, 0.0, "loose", 1, 1, "missing", "x")])
    problems = {p.kind: p for p in check_training_data(project)}
    assert set(problems) == {"missing", "unreadable"}
    assert problems["missing"].image_ids == missing and not problems["missing"].blocking
    assert problems["missing"].text.startswith("2 images with a label are missing")
    assert problems["unreadable"].image_ids == unreadable
    assert problems["unreadable"].text.startswith("1 image with a label could not be read")


def test_enough_images_no_problems(tmp_path):
    project = Project.create(tmp_path / "p.mbv2")
    add(project, "cats", 5)
    add(project, "dogs", 5)
    assert check_training_data(project) == []
