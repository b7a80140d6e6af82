"""Near-duplicates and train/validation leaks: re-saved copies of generated images (resized,
re-encoded at another JPEG quality, slightly cropped) are found, and the automatic split keeps
each group on one side; pinned images that leak are listed."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from mbv2gui.core.files.importer import import_paths
from mbv2gui.core.inference.duplicates import (DEFAULT_THRESHOLD, find_near_duplicates,
                                               group_pairs)
from mbv2gui.core.jobs import ignore_events, never_stop
from mbv2gui.core.store.near_duplicates import pinned_leaks, save_groups, stored_groups
from mbv2gui.core.store.project import Project
from mbv2gui.core.store.splits import assign_splits
from mbv2gui.core.training.dataset import TrainData

SIZE = 48


def photo(seed: int, warm: bool) -> Image.Image:
    """A generated "photo": a warm or cool background with a few random shapes, different for
    every seed (as two photos of the same kind of thing are)."""
    rng = np.random.default_rng(seed)
    base = (200, 90, 60) if warm else (60, 90, 200)
    pixels = np.clip(np.array(base) + rng.normal(0, 10, (SIZE, SIZE, 3)), 0, 255)
    image = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        x, y = rng.integers(0, SIZE - 12, 2)
        w, h = rng.integers(6, 20, 2)
        draw.ellipse((x, y, x + w, y + h), fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    return image


def copies_of(image: Image.Image) -> dict[str, Image.Image]:
    """What a camera roll or a re-export makes of one picture."""
    w, h = image.size
    return {"resized": image.resize((w * 3 // 4, h * 3 // 4), Image.Resampling.BILINEAR),
            "cropped": image.crop((2, 2, w - 2, h - 2)),
            "requality": image}  # saved below at a lower JPEG quality


def make_project(tmp_path, per_class=8):
    """Two classes of distinct generated images, plus copies of the first red and first blue
    image; returns (project path, {original file name: [copy file names]})."""
    copies = {}
    for k, name in enumerate(("red", "blue")):
        folder = tmp_path / "photos" / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            photo(1000 * k + i, name == "red").save(folder / f"{name}_{i}.png")
        original = photo(1000 * k, name == "red")
        kinds = copies_of(original)
        kinds["resized"].save(folder / f"{name}_0_resized.png")
        kinds["cropped"].save(folder / f"{name}_0_cropped.jpg", quality=92)
        kinds["requality"].save(folder / f"{name}_0_q40.jpg", quality=40)
        copies[f"{name}_0.png"] = sorted([f"{name}_0_resized.png", f"{name}_0_cropped.jpg",
                                          f"{name}_0_q40.jpg"])
    project = Project.create(tmp_path / "d.mbv2")
    import_paths(project.path, tmp_path / "photos", ignore_events, never_stop)
    project.close()
    return tmp_path / "d.mbv2", copies


def names_of(project, ids):
    records = {im.id: im for im in project.images()}
    return sorted(records[i].path.rsplit("/", 1)[-1] for i in ids)


def test_copies_are_grouped_and_nothing_else(tmp_path):
    path, copies = make_project(tmp_path)
    found = find_near_duplicates(path)
    assert found["source"] == "pixels"  # no model yet: pixel fingerprints
    groups = group_pairs(len(found["ids"]), found["pairs"], found["threshold"])
    project = Project.open(path)
    try:
        named = sorted(names_of(project, [found["ids"][i] for i in g]) for g in groups)
    finally:
        project.close()
    expected = sorted(sorted([original, *made]) for original, made in copies.items())
    assert named == expected
    # The threshold matters: at 0.999 only the resized copies (same pixels, fewer) still join.
    strict = group_pairs(len(found["ids"]), found["pairs"], 0.999)
    assert [len(g) for g in strict] == [2, 2]


def test_automatic_split_keeps_a_group_on_one_side_and_pinned_leaks_are_listed(tmp_path):
    path, copies = make_project(tmp_path, per_class=4)
    project = Project.open(path)
    try:
        found = find_near_duplicates(path)
        ids = found["ids"]
        groups = group_pairs(len(ids), found["pairs"], DEFAULT_THRESHOLD["pixels"])
        hashes = {im.id: im.content_hash for im in project.images()}
        hash_groups = [[hashes[ids[i]] for i in g] for g in groups]
        images = project.labeled_images()
        keys = [im.content_hash for im in images]
        labels = [im.label for im in images]
        red = [keys.index(h) for h in hash_groups[0] + hash_groups[1]
               if images[keys.index(h)].label == "red"]
        # A seed where the plain split puts the red copies on both sides: the leak to mend.
        seed = next(s for s in range(200)
                    if len({assign_splits(keys, labels, ["auto"] * len(keys), 0.3, s)[i]
                            for i in red}) == 2)
        save_groups(project, hash_groups, DEFAULT_THRESHOLD["pixels"], found["source"])
        assert stored_groups(project) == [sorted(g) for g in hash_groups]
        data = TrainData.from_project(project, val_split=0.3, seed=seed)
        side = {s.content_hash: s.split for s in data.samples}
        for group in hash_groups:
            assert len({side[h] for h in group}) == 1, group
        for name in ("red", "blue"):  # every class still has both sides
            assert {s.split for s in data.samples if s.label == name} == {"train", "validation"}
        assert pinned_leaks(project) == []

        # Pinned by hand to both sides: the split cannot mend it, so it is listed.
        by_hash = {im.content_hash: im.id for im in project.images()}
        group = hash_groups[0]
        project.set_splits({by_hash[group[0]]: "train", by_hash[group[1]]: "validation"})
        leaks = pinned_leaks(project)
        assert len(leaks) == 1 and set(leaks[0].image_ids) == {by_hash[h] for h in group}
        data = TrainData.from_project(project, val_split=0.3, seed=seed)
        side = {s.content_hash: s.split for s in data.samples}
        assert side[group[0]] == "train" and side[group[1]] == "validation"
    finally:
        project.close()


def test_split_without_groups_is_unchanged():
    keys = [f"k{i}" for i in range(40)]
    labels = ["a"] * 20 + ["b"] * 20
    splits = assign_splits(keys, labels, ["auto"] * 40, 0.25, 3)
    assert [splits[:20].count("validation"), splits[20:].count("validation")] == [5, 5]
    assert splits == assign_splits(keys, labels, ["auto"] * 40, 0.25, 3, groups=[])


def test_evaluate_view_warns_while_pinned_copies_leak(qtbot, tmp_path):
    from mbv2gui.gui.evaluate.evaluate_view import EvaluateView
    from mbv2gui.gui.shell.context import AppContext

    path, _copies = make_project(tmp_path, per_class=3)
    found = find_near_duplicates(path)
    project = Project.open(path)
    hashes = {im.id: im.content_hash for im in project.images()}
    groups = [[found["ids"][i] for i in g]
              for g in group_pairs(len(found["ids"]), found["pairs"], found["threshold"])]
    save_groups(project, [[hashes[i] for i in g] for g in groups], found["threshold"], "pixels")
    context = AppContext()
    context.set_project(project)
    view = EvaluateView(context)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    assert not view.leak_banner.isVisible()
    first, second = groups[0][:2]
    project.set_splits({first: "train", second: "validation"})
    context.imagesChanged.emit([first, second])
    assert view.leak_banner.isVisible()
    assert "1 group of near-duplicate images is pinned" in view.leak_banner.label.text()
    project.set_splits({second: "auto"})  # the automatic split now keeps it with the other
    context.imagesChanged.emit([second])
    assert not view.leak_banner.isVisible()
    context.set_project(None)
