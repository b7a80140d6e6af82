"""A time budget instead of a number of epochs: the sizing (a pure function driven by a fake
clock), a tiny training that stops at its budget and says why, and the command line's budgets."""

from __future__ import annotations

import argparse

import pytest

from helpers_images import make_class_tree
from mbv2gui.commands.train import add_arguments, config_from_args
from mbv2gui.core.errors import UserError
from mbv2gui.core.training.budget import EpochPlanner, automatic_budget, epochs_that_fit
from mbv2gui.core.training.config import TrainConfig
from mbv2gui.core.training.stopping_words import early_stop_sentence


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_epochs_that_fit_counts_whole_epochs_within_the_ceiling():
    assert epochs_that_fit(100, 10, epochs_done=2, ceiling=50) == 12
    assert epochs_that_fit(100, 10, epochs_done=2, ceiling=5) == 5
    assert epochs_that_fit(-3, 10, epochs_done=4, ceiling=50) == 4  # out of time: stop here
    assert epochs_that_fit(5, 10, epochs_done=0, ceiling=50) == 1  # at least one epoch


def test_the_plan_is_sized_from_the_traced_speed_not_the_first_steps():
    clock = FakeClock()
    planner = EpochPlanner(budget_s=60, ceiling=1000, steps_per_epoch=10, clock=clock,
                           skip_steps=3)
    for step in range(10):  # the first 3 steps trace the graph: 5 s each, then 0.1 s
        clock.now += 5.0 if step < 3 else 0.1
        planner.step()
    assert planner.step_seconds() == pytest.approx(0.1)
    assert planner.eta(1000, 0, 10) == pytest.approx(60 - 15.7)  # never past the budget
    clock.now += 0.5  # validation
    # 15.7 + 0.5 s used; an epoch is 10 × 0.1 s + 0.5 s of validation: 29 more fit in 43.8 s
    assert planner.epoch_end() == 1 + 29
    for step in range(10):  # the second epoch, traced: its whole time is the steady speed
        clock.now += 0.2
        planner.step()
    clock.now += 1.0
    # 19.2 s used, 3 s an epoch from now on: 13 more fit in 40.8 s
    assert planner.epoch_end() == 2 + 13


def test_without_a_budget_the_plan_is_the_ceiling_and_the_eta_honest():
    clock = FakeClock()
    planner = EpochPlanner(budget_s=None, ceiling=7, steps_per_epoch=4, clock=clock,
                           skip_steps=2)
    clock.now += 30  # tracing
    planner.step()
    assert planner.eta(7, 0, 1) is None  # not measured yet: the caller says its own guess
    for _ in range(3):
        clock.now += 1.0
        planner.step()
        planner_eta = planner.eta(7, 0, planner.steps_done)
    assert planner_eta == pytest.approx(24)  # 24 steps of 1 s left, not 30 s each
    assert planner.epoch_end() == 7


def test_automatic_budget_grows_with_the_dataset_within_bounds():
    assert automatic_budget(1000) is None  # small: the automatic epochs as ever
    assert automatic_budget(5000) == 600
    assert automatic_budget(50_000) == pytest.approx(750)  # about 12 minutes
    assert automatic_budget(10_000_000) == 3600


def test_a_tiny_training_stops_near_its_budget_and_says_why(tmp_path):
    """8 s from scratch: the first epoch traces the graph (seconds on 2 busy cores), the next
    ones take a fraction of a second; without the budget it would run 4 × 60 epochs."""
    make_class_tree(tmp_path / "data", ["red", "blue"], per_class=12, size=32)
    events = []
    config = TrainConfig(image_size=32, weights="none", batch_size=4, time_budget_s=8,
                         early_stopping_patience=1000)
    run = train_run(tmp_path, config, events)
    epochs = [e for e in events if e["type"] == "epoch"]
    first, steady = epochs[0]["seconds"], max([e["seconds"] for e in epochs[1:]], default=0)
    loop_seconds = sum(e["seconds"] for e in epochs)
    # Ends within the budget (or after the one traced epoch, on a very busy machine), give or
    # take the epoch the plan was counted on.
    assert loop_seconds <= max(8, first) + 2 * steady + 0.5, [e["seconds"] for e in epochs]
    assert len(epochs) < 4 * 60
    budget = run.metrics["time_budget"]
    assert budget == {"seconds": 8, "automatic": False, "epoch": len(epochs), "stopped": True}
    assert early_stop_sentence(run.metrics) == (f"Stopped at the 8-second budget after epoch "
                                                f"{len(epochs)}.")
    said = [e["text"] for e in events if e["type"] == "message"]
    assert any("in the 8-second budget" in text for text in said), said
    assert epochs[-1]["epochs"] == len(epochs)  # the epoch events carry the planned count


def test_automatic_epochs_on_a_large_dataset_keep_to_a_budget_and_say_so(tmp_path,
                                                                        monkeypatch):
    """The large-dataset rule, shrunk: 10 images count as "large" and their budget is 8 s."""
    from mbv2gui.core.training import budget

    monkeypatch.setattr(budget, "LARGE_DATASET", 10)
    monkeypatch.setattr(budget, "AUTOMATIC_BUDGET_RANGE", (8.0, 8.0))
    make_class_tree(tmp_path / "data", ["red", "blue"], per_class=12, size=32)
    events = []
    config = TrainConfig(image_size=32, weights="none", batch_size=4,
                         early_stopping_patience=1000)
    run = train_run(tmp_path, config, events)
    epochs = len(run.history["epoch"])
    assert epochs < 150  # the automatic 150 epochs for 18 images would take minutes
    assert run.metrics["time_budget"] == {"seconds": 8, "automatic": True, "epoch": epochs,
                                          "stopped": True}
    assert early_stop_sentence(run.metrics) == (f"Stopped at the automatic 8-second budget "
                                                f"after epoch {epochs}.")
    said = " ".join(e["text"] for e in events if e["type"] == "message")
    assert "Automatic epochs: 150 epochs would take about" in said
    assert "on this computer, so this training keeps to about 8 seconds" in said
    trained_on = sum(run.metrics["counts"]["train"].values())
    assert f"as suits {trained_on} images" in said


def train_run(tmp_path, config, events):
    from mbv2gui.core.training.train import train

    return train(tmp_path / "data", config, events.append, run_dir=tmp_path / "run")


def _cli_config(*extra):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return config_from_args(parser.parse_args(["DATA", "--out", "RUN", *extra]))


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("20m", 1200), ("1h", 3600),
                                           ("300", 300), ("1.5h", 5400), ("2 min", 120)])
def test_the_command_line_parses_budgets(text, seconds):
    assert _cli_config("--time-budget", text).time_budget_s == seconds


def test_no_budget_by_default_and_a_bad_one_is_a_sentence():
    assert _cli_config().time_budget_s is None
    for bad in ("soon", "20x", "0", "-5m"):
        with pytest.raises(UserError) as error:
            _cli_config(f"--time-budget={bad}")
        assert "90s, 20m or 1h" in error.value.message and bad in error.value.message


def test_the_train_form_offers_minutes_instead_of_epochs(qtbot):
    from mbv2gui.gui.train.train_form import TrainForm

    form = TrainForm()
    qtbot.addWidget(form)
    form.epochs_spin.setValue(20)
    assert (form.config().epochs, form.config().time_budget_s) == (20, None)
    form.epochs_unit.setCurrentIndex(form.epochs_unit.findData("minutes"))
    assert (form.config().epochs, form.config().time_budget_s) == (None, 1200)
    assert "a 20-minute time budget" in form.summary.text()
    form.epochs_spin.setValue(0)  # "Automatic" in either unit
    assert (form.config().epochs, form.config().time_budget_s) == (None, None)
    form.set_config(TrainConfig(time_budget_s=5400))  # a remembered setting comes back
    assert form.epochs_unit.currentData() == "minutes" and form.epochs_spin.value() == 90
    form.set_config(TrainConfig(epochs=7))
    assert form.epochs_unit.currentData() == "epochs" and form.epochs_spin.value() == 7


def test_a_budget_cannot_be_spread_over_machines():
    """Every machine must run the same epochs; each would plan from its own clock."""
    from mbv2gui.commands.train import run

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["DATA", "--out", "RUN", "--time-budget", "20m", "--distributed"])
    with pytest.raises(UserError) as error:
        run(args)
    assert "give --epochs instead" in error.value.message
