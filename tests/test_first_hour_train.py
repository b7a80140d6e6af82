"""The Train view's words and curves during a run (issue 18): "epoch 12 of 30", a time left that
says "estimating…" until it is honest, an x axis in plain epochs from the first batch, and a log
pane tall enough to read."""

from __future__ import annotations

from mbv2gui.gui.shell.context import AppContext
from mbv2gui.gui.train.time_left import ESTIMATING, TimeLeft
from mbv2gui.gui.train.train_plots import TrainPlots
from mbv2gui.gui.train.train_view import TrainView


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_time_left_waits_for_steady_work_and_leaves_out_the_slow_first_epoch():
    clock = Clock()
    estimate = TimeLeft(clock)
    # Epoch 1: 20 s of tracing before the first batch, 15 s more tracing validation at its end.
    clock.now += 20
    for step in range(1, 11):
        clock.now += 0.5
        assert estimate.update("head", 1, step, 10, 30) is None
    clock.now += 15
    assert estimate.update("head", 2, 1, 10, 30) is None  # the measuring starts here
    clock.now += 0.5
    assert estimate.update("head", 2, 2, 10, 30) is None  # one step measured: too few
    for step in range(3, 9):
        clock.now += 0.5
        left = estimate.update("head", 2, step, 10, 30)
    # 7 steps in 3.5 s measured; 282 of 300 steps to go at 0.5 s each.
    assert left is not None and abs(left - 282 * 0.5) < 1e-6
    # A new phase starts measuring afresh.
    clock.now += 1
    assert estimate.update("fine_tune", 2, 1, 10, 5) is None


def test_status_says_epoch_of_epochs_and_estimating_first(qtbot):
    context = AppContext()
    view = TrainView(context)
    qtbot.addWidget(view)

    class Running:  # what the view asks of its job while events arrive
        def cancel_requested(self):
            return False

    view._job = Running()
    view.job_status.on_event({"type": "batch", "phase": "head", "epoch": 12, "epochs": 30,
                              "step": 5, "steps": 11, "loss": 0.5, "images_per_second": 40.0})
    text = view.status.text()
    assert "epoch 12 of 30" in text and ESTIMATING in text
    assert "batch" not in text  # the batch count is in the tooltip, not in the sentence
    assert view.progress.value() == int(1000 * (11 * 11 + 5) / (30 * 11))
    view._job = None


def test_x_axis_is_plain_epochs_from_the_first_batch(qtbot):
    plots = TrainPlots()
    qtbot.addWidget(plots)
    plots.resize(800, 500)
    plots.show()
    plots.start_live()
    for step in range(2, 10):
        plots.on_event({"type": "batch", "phase": "head", "epoch": 1, "step": step,
                        "steps": 10, "loss": 1.0, "learning_rate": 1e-3})
    plots.flush()
    axis = plots.loss_plot.getPlotItem().getAxis("bottom")
    assert axis.autoSIPrefixScale == 1.0 and "x0.001" not in axis.labelString()
    left, right = plots.loss_plot.getPlotItem().viewRange()[0]
    assert left <= 0.0 and 1.0 <= right < 1.1  # the whole first epoch, from 0


def test_log_pane_shows_a_dozen_lines(qtbot):
    view = TrainView(AppContext())
    qtbot.addWidget(view)
    assert view.log.minimumHeight() >= 12 * view.log.fontMetrics().lineSpacing()
