"""A finished run in words: how long it took and how often it is right on images it never
trained on, as the Train view says it when a training ends (Qt-free text helpers)."""

from __future__ import annotations


def duration(seconds) -> str:
    seconds = max(0, int(round(float(seconds))))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def percent(value) -> str:
    return f"{value:.0%}" if isinstance(value, (int, float)) else "—"


def result_sentence(metrics: dict) -> str:
    """The final metrics of a run, in words."""
    m = metrics or {}
    validation = sum((m.get("counts") or {}).get("validation", {}).values())
    epochs, best = m.get("epochs"), m.get("best_epoch")
    took = f" in {duration(m['seconds'])}" if isinstance(m.get("seconds"), (int, float)) else ""
    start = ("Stopped by you; kept the best model so far" if m.get("stopped_early_by_user")
             else "Finished")
    if isinstance(m.get("val_accuracy"), (int, float)):
        right = round(m["val_accuracy"] * validation)
        text = (f"{start}{took}: the model is right on {percent(m['val_accuracy'])} of the "
                f"{validation} validation images ({right} of {validation}), which it never "
                "trained on.")
    else:
        text = (f"{start}{took}. No images were kept aside for validation, so how well it does "
                f"on new images is unknown (on its training images: {percent(m.get('accuracy'))}).")
    if epochs:
        text += f" Best after epoch {best} of {epochs}." if best else f" {epochs} epochs."
    if m.get("stopped_early") and not m.get("stopped_early_by_user"):
        text += " It stopped early because it was no longer improving."
    return text
