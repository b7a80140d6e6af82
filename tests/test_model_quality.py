"""Saying when a model cannot be trusted: the uncertainty of an accuracy figure, the small
validation set, the verdict on a run and its advice, the mislabeled cut, the best run by
default, and runs named in words. All plain data: no TensorFlow, no Qt."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest

from mbv2gui.core.inference.mislabeled import (MislabeledResult, out_of_fold_probabilities,
                                     select_label_issues)
from mbv2gui.core.inference.quality import (accuracy_uncertainty, assess_run, best_run,
                                        default_run, scratch_expectation,
                                        small_validation_warning, too_weak_sentence,
                                        wilson_interval)
from mbv2gui.core.training.preflight import check_training_data, trains_from_scratch
from mbv2gui.core.store.project import NewImage, Project
from mbv2gui.core.run_names import record_name, run_name, start_point

CLOTHES = ["shirt", "T-shirt", "coat"]
YEAR = time.localtime().tm_year  # names leave out the current year


# ------------------------------------------------------------------ how sure a figure is
def test_wilson_interval_matches_the_textbook_values():
    low, high = wilson_interval(0.5, 100)  # 50 of 100: 40.4%..59.6%
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    low, high = wilson_interval(1.0, 12)  # 12 of 12: the lower end is n / (n + z²)
    assert low == pytest.approx(12 / (12 + 1.96 ** 2), abs=1e-4) and high == 1.0


def test_uncertainty_sentence_says_plus_minus_the_half_width():
    assert accuracy_uncertainty(0.5, 100) == "50% ± 10% (on 100 validation images)"
    assert accuracy_uncertainty(0.4, 12) == "40% ± 24% (on 12 validation images)"
    assert accuracy_uncertainty(0.9, 1000) == "90% ± 2% (on 1000 validation images)"


def test_small_validation_set_is_warned_about_with_the_points():
    warning = small_validation_warning(12, {"a": 6, "b": 6}, 0.4)
    assert warning == ("Only 12 validation images: this figure could be off by 24 points. "
                       "Label more images, or move more into validation.")
    # A lucky 100% on 12 images is still unsure.
    assert "off by" in small_validation_warning(12, {"a": 6, "b": 6}, 1.0)
    assert "“b”" in small_validation_warning(40, {"a": 37, "b": 3}, 0.9)
    assert small_validation_warning(200, {"a": 100, "b": 100}, 0.9) is None


# ------------------------------------------------------------------ the verdict on a run
def fake_run(accuracy, per_class_val=40, per_class_train=160, pretrained=True,
             predictions=None, weights="auto"):
    counts = {"train": {n: per_class_train for n in CLOTHES},
              "validation": {n: per_class_val for n in CLOTHES}}
    metrics = {"val_accuracy": accuracy, "pretrained": pretrained, "counts": counts}
    return SimpleNamespace(metrics=metrics, config={"weights": weights},
                           predictions=predictions or [], class_names=CLOTHES)


def confused_predictions():
    """9 shirt/T-shirt mix-ups (6 one way, 3 the other) and 2 coats taken for shirts."""
    def row(true, predicted):
        probabilities = [0.1, 0.1, 0.1]
        probabilities[predicted] = 0.8
        return {"true": true, "split": "validation", "probabilities": probabilities}
    return ([row(0, 1)] * 6 + [row(1, 0)] * 3 + [row(2, 0)] * 2 + [row(2, 2)] * 20
            + [{"true": 2, "split": "test", "probabilities": [0.9, 0.05, 0.05]}] * 30)


def test_a_good_run_is_good_and_says_how_sure():
    assessment = assess_run(fake_run(0.92, pretrained=True))
    assert assessment.level == "good" and assessment.advice == []
    assert "92% ± " in assessment.sentence and "120 validation images" in assessment.sentence
    assert too_weak_sentence(fake_run(0.92)) == ""


def test_a_weak_run_from_scratch_advises_pretrained_weights_more_images_and_the_pair():
    run = fake_run(0.40, per_class_val=8, per_class_train=32, pretrained=False,
                   predictions=confused_predictions(), weights="none")
    assessment = assess_run(run)
    assert assessment.level == "weak"
    assert "only 40% ± " in assessment.sentence and "too weak" in assessment.sentence
    assert assessment.advice[0].startswith("Train with pretrained weights")
    assert "80–90%" in assessment.advice[0]  # 40 images per class, pretrained
    assert any("Label more images" in a and "32" in a for a in assessment.advice)
    # The test split's mistakes are not counted; both directions of the pair are.
    assert any("It confuses “shirt” with “T-shirt” most often (9 times)" in a
               for a in assessment.advice)
    assert too_weak_sentence(run).startswith("This model is right only 40% of the time")


def test_a_pretrained_run_far_below_expectation_is_weak_but_not_told_to_use_pretrained():
    assessment = assess_run(fake_run(0.72, per_class_val=100, per_class_train=400))
    assert assessment.level == "weak"  # 500 per class pretrained is typically 85–95%
    assert not any("pretrained" in a for a in assessment.advice)
    assert assess_run(fake_run(0.72, per_class_train=20, per_class_val=40)).level == "good"


def test_a_high_figure_on_few_validation_images_is_unreliable():
    assessment = assess_run(fake_run(1.0, per_class_val=4, per_class_train=16))
    assert assessment.level == "unreliable"
    assert assessment.advice[0].startswith("Only 12 validation images")
    no_validation = fake_run(None)
    assert assess_run(no_validation).level == "unreliable"
    assert "validation split" in assess_run(no_validation).advice[0]


# ------------------------------------------------------------------ before training
def add_images(project, label, count):
    project.add_images([NewImage(f"/nowhere/{label}/{i}.png", 10, 0.0, f"{label}-{i}", 32, 32,
                                 "ok", None, label) for i in range(count)])


def test_preflight_says_what_to_expect_from_scratch(tmp_path):
    project = Project.create(tmp_path / "p.mbv2")
    add_images(project, "shirt", 40)
    add_images(project, "coat", 40)
    assert check_training_data(project) == []
    problems = check_training_data(project, from_scratch=True)
    assert [(p.kind, p.blocking) for p in problems] == [("from_scratch", False)]
    assert problems[0].text.startswith(scratch_expectation(40))
    assert scratch_expectation(40) == ("From scratch with 40 images per class, expect roughly "
                                       "25–60% accuracy; with pretrained weights, typically "
                                       "80–90%.")
    project.close()


def test_trains_from_scratch_reads_the_weights_choice():
    assert trains_from_scratch({"weights": "none", "alpha": 0.35, "image_size": 96})
    assert not trains_from_scratch({"weights": "auto", "alpha": 0.35, "image_size": 96})
    assert trains_from_scratch({"weights": "auto", "alpha": 0.35, "image_size": 64})
    assert not trains_from_scratch({"weights": "/some/file.h5", "alpha": 0.35, "image_size": 64})


# ------------------------------------------------------------------ the mislabeled cut
def flipped_features(separation, n_classes=3, per_class=20, flips=(3, 25, 47), seed=1):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), per_class)
    x = rng.normal(0, 1, (n_classes, 64))[y] * separation + rng.normal(0, 1, (len(y), 64))
    noisy = y.copy()
    noisy[list(flips)] = (y[list(flips)] + 1) % n_classes
    return x, noisy


def test_a_good_model_flags_the_flipped_labels_and_few_others():
    x, noisy = flipped_features(3.0)
    selection = select_label_issues(out_of_fold_probabilities(x, noisy, 3), noisy)
    assert not selection.too_weak and selection.accuracy > 0.9
    assert sorted(i for i, _ in selection.flagged[:3]) == [3, 25, 47]
    assert len(selection.flagged) <= 3 + 2


def test_a_near_random_model_flags_nothing_and_says_it_is_too_weak():
    x, noisy = flipped_features(0.0, n_classes=10, per_class=40, flips=range(0, 400, 33))
    selection = select_label_issues(out_of_fold_probabilities(x, noisy, 10), noisy)
    assert selection.too_weak and selection.flagged == []
    assert len(selection.held_back) > 200  # what the old list would have shown
    result = MislabeledResult([], [], selection.accuracy, len(noisy), True)
    assert "too weak to judge the labels" in result.sentence()


# ------------------------------------------------------------------ which run, in words
def record(run_id, created, accuracy, weights="auto", pretrained=True):
    return SimpleNamespace(id=run_id, created=created, run_dir=f"/runs/{run_id}",
                           config={"weights": weights, "image_size": 96, "alpha": 0.35},
                           metrics={"val_accuracy": accuracy, "pretrained": pretrained})


def test_best_run_by_validation_accuracy_not_the_newest():
    runs = [record("a", "2026-12-06 01:00:00", 0.51), record("b", "2026-12-06 02:00:00", 0.88),
            record("c", "2026-12-06 03:00:00", 0.40), record("d", "2026-12-06 04:00:00", None)]
    assert best_run(runs).id == "b"
    assert best_run(list(reversed(runs))).id == "b"
    tie = runs + [record("e", "2026-12-06 05:00:00", 0.88)]
    assert best_run(tie).id == "e"  # the newest of equals
    assert default_run(runs, "c").id == "c"  # the person's choice wins
    assert default_run(runs, "deleted").id == "b"
    assert best_run([]) is None and default_run([], "a") is None


def test_runs_are_named_in_words(tmp_path):
    assert record_name(record(f"{YEAR}1206-010641-e3ba", f"{YEAR}-12-06 01:06:41", 0.51)) == \
        "Run of 6 Dec 01:06 — pretrained (ImageNet), 51%"
    scratch = record(f"{YEAR}1206-010441-e3ba", f"{YEAR}-12-06 01:04:41", 0.40, "auto", False)
    assert record_name(scratch).endswith("— from scratch, 40%")
    assert "e3ba" not in record_name(scratch)
    earlier = tmp_path / f"{YEAR}1205-172000-ab12"
    earlier.mkdir()
    (earlier / "labels.txt").write_text("a\nb\n")
    assert start_point({"weights": str(earlier / "model.keras")}, {"pretrained": True}) == \
        "from the run of 5 Dec 17:20"
    assert start_point({"weights": "/w/mine.h5"}, {"pretrained": True}) == \
        "from the weights file mine.h5"
    assert run_name({}, {"val_accuracy": 0.5}, "2019-03-01 09:00:00") == \
        "Run of 1 Mar 2019 09:00 — pretrained (ImageNet), 50%"
    # Older runs without the "pretrained" flag: their weights sentence says it.
    assert run_name({"weights": "auto"}, {"weights_source": "Training from scratch because "
                                          "…"}, None, f"{YEAR}1206-010441-e3ba").startswith(
        "Run of 6 Dec 01:04 — from scratch")


def test_the_end_of_training_says_weak_and_what_helps_and_retraining_repeats_it():
    from mbv2gui.gui.train.auto_retrain import up_to_date_sentence
    from mbv2gui.gui.train.run_summary import run_result

    run = fake_run(0.40, per_class_val=8, per_class_train=32, pretrained=False,
                   predictions=confused_predictions(), weights="none")
    run.metrics.update(seconds=80, epochs=30, best_epoch=12)
    text, level = run_result(run)
    assert level == "warning"
    assert "right on 40% ± " in text and "It is too weak to trust. What would help most:\n" \
        "• Train with pretrained weights" in text and "(9 times)" in text
    good = fake_run(0.92)
    good.metrics.update(seconds=5, epochs=10, best_epoch=10)
    text, level = run_result(good)
    assert level == "info" and "too weak" not in text and "92% ± 5%" in text
    run.run_id = "20261206-010641-e3ba"
    assert up_to_date_sentence(run) == (
        "Model up to date (trained 01:06, 40% validation accuracy). This model is right only "
        "40% of the time on images it did not train on; its suggestions would be mostly wrong. "
        "Train with pretrained weights or label more images first.")
