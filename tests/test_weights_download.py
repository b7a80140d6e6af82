"""The ImageNet download route with no internet: a weights file the test makes itself, served
from a local HTTP server on 127.0.0.1 as a mirror. `auto` downloads it once into the Keras
cache and uses it; offline, refused, interrupted, damaged and cancelled downloads end in a
sentence (with the actions a window offers) and leave no file behind; the next try starts clean."""

from __future__ import annotations

import pickle
import socket

import numpy as np
import pytest

from helpers_images import make_class_tree
from mbv2gui.core.errors import JobCancelled
from mbv2gui.core.training.weights import (
    WeightsUnavailable, describe_weights, keras_cache_dir, resolve_weights)
from mbv2gui.core.training.weights_download import download_imagenet
from weights_mirror import NAME, mirror, weights_file  # noqa: F401  (pytest fixtures)


def _cache_files():
    folder = keras_cache_dir()
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_auto_downloads_once_uses_the_file_and_says_so(mirror, weights_file):
    from mbv2gui.core.training.model import build_backbone

    before = describe_weights("auto", 0.35, 96)
    assert before.kind == "will_download" and before.pretrained
    assert "will be downloaded from 127.0.0.1 when you start" in before.sentence
    events = []
    weights = resolve_weights("auto", 0.35, 96, report=events.append)
    assert weights.kind == "imagenet" and weights.path == str(keras_cache_dir() / NAME)
    assert _cache_files() == [NAME]  # Keras' own name, no .part left
    texts = [e["text"] for e in events if e["type"] == "message"]
    assert any("Downloading the pretrained weights (about 2 MB, once" in t for t in texts)
    steps = [e for e in events if e["type"] == "progress"]
    assert steps[-1]["done"] == steps[-1]["total"] == len(mirror.payload)
    backbone = build_backbone(0.35, 96, weights, 0.9)
    for loaded, made in zip(backbone.get_weights(), weights_file[1], strict=True):
        np.testing.assert_array_equal(loaded, made)
    after = describe_weights("auto", 0.35, 96)
    assert after.kind == "cached" and after.sentence.startswith("Pretrained on ImageNet (downloaded on")
    resolve_weights("auto", 0.35, 96)
    assert len(mirror.requests) == 1  # once: later runs find it in the cache


def test_offline_is_a_sentence_with_three_actions(mirror, monkeypatch):
    monkeypatch.setenv("MBV2GUI_WEIGHTS_URL", f"http://127.0.0.1:{_closed_port()}/")
    with pytest.raises(WeightsUnavailable) as error:
        resolve_weights("auto", 0.35, 96)
    assert error.value.message == (
        "The pretrained weights could not be downloaded (no connection to 127.0.0.1). "
        "Try again, choose a weights file, or train from scratch.")
    assert error.value.actions == ("retry", "choose_file", "from_scratch")
    copy = pickle.loads(pickle.dumps(error.value))  # as it crosses to another process
    assert (copy.message, copy.actions) == (error.value.message, error.value.actions)
    assert _cache_files() == []


def test_interrupted_download_leaves_nothing_and_the_next_try_succeeds(mirror):
    mirror.mode = "cut"
    with pytest.raises(WeightsUnavailable, match="broke off after 1.0 of 2.0 MB"):
        download_imagenet(0.35, 96)
    assert _cache_files() == []
    mirror.mode = "ok"
    assert download_imagenet(0.35, 96).read_bytes() == mirror.payload
    assert _cache_files() == [NAME]


def test_damaged_download_is_refused_and_deleted(mirror):
    mirror.mode = "garbage"
    with pytest.raises(WeightsUnavailable, match="not a weights file .* was deleted"):
        download_imagenet(0.35, 96)
    assert _cache_files() == []


def test_refused_by_the_server_says_its_answer(mirror):
    mirror.mode = "missing"
    with pytest.raises(WeightsUnavailable, match="127.0.0.1 answered “404 Not Found”"):
        download_imagenet(0.35, 96)
    assert _cache_files() == []


def test_cancel_mid_download_leaves_no_file(mirror):
    polls = []

    def should_stop():
        polls.append(1)
        return len(polls) > 5  # a few chunks in

    with pytest.raises(JobCancelled):
        download_imagenet(0.35, 96, should_stop=should_stop)
    assert len(polls) == 6 and _cache_files() == []


def test_base_url_setting_wins_over_the_variable(mirror, monkeypatch):
    good = monkeypatch.setenv  # the variable points nowhere; the setting at the mirror
    url = f"http://127.0.0.1:{mirror.server_port}/weights"
    good("MBV2GUI_WEIGHTS_URL", f"http://127.0.0.1:{_closed_port()}/")
    assert download_imagenet(0.35, 96, base_url=url).is_file()
    assert mirror.requests == ["/weights/" + NAME]


def test_training_with_auto_downloads_and_trains_from_the_file(mirror, tmp_path, monkeypatch):
    from mbv2gui.core.training.config import TrainConfig
    from mbv2gui.core.training.train import train

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    make_class_tree(tmp_path / "data", ["red", "blue"], per_class=4, size=32)
    events = []
    run = train(tmp_path / "data", TrainConfig(image_size=96, alpha=0.35, weights="auto",
                                               epochs=1, batch_size=8),
                events.append, run_dir=tmp_path / "run")
    assert run.metrics["pretrained"] and run.metrics["start_point"] == "pretrained (ImageNet)"
    assert "ImageNet weights" in run.metrics["weights_source"]
    assert [e["phase"] for e in events if e["type"] == "phase"][:2] == ["features", "head"]
    assert len(mirror.requests) == 1 and _cache_files() == [NAME]


def test_the_build_fetches_what_the_mirror_has_and_says_what_it_lacks(mirror, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "packaging/fetch_weights.py"], cwd=root,
                          capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(keras_cache_dir() / NAME)  # fetched through the mirror
    assert "alpha 1.0 at 224 px" in done.stderr and "404 Not Found" in done.stderr
    assert _cache_files() == [NAME]


def test_command_line_offline_says_what_to_type(mirror, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    make_class_tree(tmp_path / "data", ["red", "blue"], per_class=3, size=16)
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-m", "mbv2gui", "train", str(tmp_path / "data"), "--out",
         str(tmp_path / "run"), "--weights-url", f"http://127.0.0.1:{_closed_port()}/"],
        cwd=root, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONPATH=str(root), XDG_CACHE_HOME=str(tmp_path / "cache")))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert ("The pretrained weights could not be downloaded (no connection to 127.0.0.1). Try "
            "again, give --weights RUN_OR_FILE, or train from scratch with --weights none."
            in done.stderr)
    assert _cache_files() == []
