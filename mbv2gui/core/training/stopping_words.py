"""Why a training ended before its last epoch, in one sentence (the command line and the Train
view say the same): early stopping is a reason, not a mystery number of epochs. Qt-free."""

from __future__ import annotations


def early_stop_sentence(metrics: dict) -> str:
    """ "Stopped at epoch 126 of 150 because the validation accuracy had not improved for 12
    epochs; the best epoch, 114, is kept." "" when the run was not stopped early by itself."""
    m = metrics or {}
    stop = m.get("early_stop")
    if not m.get("stopped_early") or m.get("stopped_early_by_user"):
        return ""
    if not stop:  # a run from before the details were recorded
        return "It stopped early because it was no longer improving."
    watched = ("the validation accuracy" if stop.get("validated")
               else "the training loss (no images were kept aside for validation)")
    patience = int(stop["patience"])
    text = (f"Stopped at epoch {stop['epoch']} of {stop['epochs']} because {watched} had not "
            f"improved for {patience} epoch{'' if patience == 1 else 's'}")
    best = m.get("best_epoch")
    return text + (f"; the best epoch, {best}, is kept." if best else ".")
