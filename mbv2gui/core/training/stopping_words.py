"""Why a training ended before its last epoch, in one sentence (the command line and the Train
view say the same): early stopping is a reason, not a mystery number of epochs. Qt-free."""

from __future__ import annotations


def early_stop_sentence(metrics: dict) -> str:
    """ "Stopped at epoch 126 of 150 because the validation accuracy had not improved for 12
    epochs; the best epoch, 114, is kept." "" when the run was not stopped early by itself."""
    m = metrics or {}
    if m.get("diverged"):
        return diverged_sentence(m)
    stop = m.get("early_stop")
    if m.get("stopped_early_by_user"):
        return ""
    if not m.get("stopped_early"):
        return budget_stop_sentence(m)
    if not stop:  # a run from before the details were recorded
        return "It stopped early because it was no longer improving."
    watched = ("the validation accuracy" if stop.get("validated")
               else "the training loss (no images were kept aside for validation)")
    patience = int(stop["patience"])
    text = (f"Stopped at epoch {stop['epoch']} of {stop['epochs']} because {watched} had not "
            f"improved for {patience} epoch{'' if patience == 1 else 's'}")
    best = m.get("best_epoch")
    return text + (f"; the best epoch, {best}, is kept." if best else ".")


def budget_stop_sentence(metrics: dict) -> str:
    """ "Stopped at the 20-minute budget after epoch 14." "" when the budget cut nothing short."""
    from mbv2gui.core.training.budget import duration_words

    budget = (metrics or {}).get("time_budget") or {}
    if not budget.get("stopped"):
        return ""
    whose = "the automatic " if budget.get("automatic") else "the "
    return (f"Stopped at {whose}{duration_words(budget['seconds'])} budget after epoch "
            f"{budget['epoch']}.")


def diverged_sentence(metrics: dict) -> str:
    """ "Stopped in epoch 7 of 50 because the training diverged ... kept the model of epoch 6."
    With no finished epoch to keep, the same sentence explains why there is no model."""
    d = (metrics or {})["diverged"]
    text = (f"Stopped in epoch {d['epoch']} of {d['epochs']} because the training diverged: its "
            "loss grew too large to compute")
    kept = (f"; the model as it was after epoch {d['kept']} is kept." if d["kept"]
            else ", before any epoch had finished, so there is no model to keep.")
    return (text + kept + " Training again with a larger batch size or another seed usually "
            "avoids this.")
