"""A finished run in words: how long it took, how often it is right on images it never
trained on (and how sure that figure is), and, when it is weak, what would help most; as the
Train view says it when a training ends (Qt-free text helpers)."""

from __future__ import annotations

from mbv2gui.core.inference.quality import accuracy_margin, assess_run
from mbv2gui.core.training.stopping_words import early_stop_sentence


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
        margin = f" ± {accuracy_margin(m['val_accuracy'], validation):.0%}" if validation else ""
        text = (f"{start}{took}: the model is right on {percent(m['val_accuracy'])}{margin} of "
                f"the {validation} validation images ({right} of {validation}), which it never "
                "trained on.")
    else:
        text = (f"{start}{took}. No images were kept aside for validation, so how well it does "
                f"on new images is unknown (on its training images: {percent(m.get('accuracy'))}).")
    if epochs:
        text += f" Best after epoch {best} of {epochs}." if best else f" {epochs} epochs."
    stopped = early_stop_sentence(m)
    if stopped:
        text += " " + stopped
    return text


def run_result(run) -> tuple[str, str]:
    """(text, level) the Train view shows when a run ends: the result sentence, then, when the
    model is weak or its figure unsure, the verdict and what would help most. Level is
    'info' for a good model, 'warning' otherwise."""
    text = result_sentence(run.metrics)
    assessment = assess_run(run)
    if assessment.level == "weak":
        text += " It is too weak to trust. What would help most:"
    if assessment.advice:  # one line each: a list is read, a paragraph is skipped
        text += "".join(f"\n• {step}" for step in assessment.advice)
    return text, "info" if assessment.trustworthy else "warning"
