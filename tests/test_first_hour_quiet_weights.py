"""Keras' hundred "Skipping nested container" warnings per weights file become one sentence on
the log, and stderr stays clean (issue 18). No TensorFlow needed: the loader is stood in for."""

from __future__ import annotations

import logging
import warnings

from mbv2gui.core.training.tfsetup import quiet_weights_loading


def keras_like_loading(containers: int) -> None:
    for i in range(containers):
        warnings.warn(f"Skipping nested container at 'layers/{i}': no matching group found in "
                      "the saved file. Affected layers will retain their freshly-initialized "
                      "weights.", UserWarning, stacklevel=2)


def test_a_hundred_warnings_become_one_sentence(capfd, caplog):
    caplog.set_level(logging.WARNING)
    with quiet_weights_loading("/somewhere/old.weights.h5"):
        keras_like_loading(100)
    err = capfd.readouterr().err
    assert "Skipping nested container" not in err
    sentences = [r.getMessage() for r in caplog.records]
    assert sentences == ["old.weights.h5 was saved by another Keras version: 100 groups of "
                         "layers were not found in it and keep their starting weights; the "
                         "rest loaded."]


def test_other_warnings_still_pass_and_a_clean_load_says_nothing(caplog):
    caplog.set_level(logging.WARNING)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with quiet_weights_loading("model.keras"):
            warnings.warn("something else", DeprecationWarning)
    assert [str(w.message) for w in seen] == ["something else"]
    assert caplog.records == []


def test_the_sentence_reaches_the_jobs_report():
    from mbv2gui.core.training.tfsetup import weights_notes_to

    events = []
    with weights_notes_to(events.append):
        with quiet_weights_loading("old.keras"):
            keras_like_loading(3)
    assert [e["level"] for e in events] == ["warning"]
    assert events[0]["text"].startswith("old.keras was saved by another Keras version: 3 groups")
