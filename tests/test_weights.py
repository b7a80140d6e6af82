"""Where `auto` finds ImageNet's weights (MBV2GUI_WEIGHTS_DIR, the app's bundle, the Keras
cache; never the network for the cheap calls), and the words the Train view shows for each
choice. No TensorFlow: only which files exist is looked at."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest

from mbv2gui.core.errors import UserError
from mbv2gui.core.run_names import start_point
from mbv2gui.core.training.weights import (
    bundled_imagenet_files, describe_weights, imagenet_file_name, resolve_weights)


@pytest.fixture
def places(tmp_path, monkeypatch):
    """An empty Keras cache, an empty fake app bundle, and a mirror that refuses connections
    (so a test that wrongly reached for the network would fail, not download)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setenv("MBV2GUI_WEIGHTS_URL", f"http://127.0.0.1:{port}/")
    monkeypatch.delenv("MBV2GUI_WEIGHTS_DIR", raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "bundle"), raising=False)
    cache = tmp_path / "keras-home" / "models"
    bundle = tmp_path / "bundle" / "resources" / "weights"
    cache.mkdir(parents=True)
    bundle.mkdir(parents=True)
    return cache, bundle


def _put(folder: Path, alpha, size) -> Path:
    path = folder / imagenet_file_name(alpha, size)
    path.write_bytes(b"weights")  # only existence is looked at here
    return path


def test_bundled_file_comes_first_and_needs_no_network(places):
    cache, bundle = places
    assert bundled_imagenet_files() == []
    in_cache, in_bundle = _put(cache, 0.35, 96), _put(bundle, 0.35, 96)
    weights = resolve_weights("auto", 0.35, 96)  # the mirror refuses: found without it
    assert weights.kind == "imagenet" and weights.path == str(in_bundle)
    assert weights.short == "pretrained (ImageNet)"
    status = describe_weights("auto", 0.35, 96)
    assert status.kind == "bundled" and status.path == str(in_bundle)
    assert status.sentence == ("Pretrained on ImageNet (included with the app): they make a good "
                               "model from a few images per class.")
    assert bundled_imagenet_files() == [in_bundle.name]
    in_bundle.unlink()
    assert resolve_weights("imagenet", 0.35, 96).path == str(in_cache)


def test_cached_file_says_when_it_was_downloaded(places):
    cache, _ = places
    path = _put(cache, 1.0, 224)
    day = time.mktime((2026, 12, 6, 12, 0, 0, 0, 0, -1))
    os.utime(path, (day, day))
    status = describe_weights("imagenet", 1.0, 224)
    assert status.kind == "cached" and status.pretrained
    assert status.sentence.startswith("Pretrained on ImageNet (downloaded on 6 Dec 2026)")


def test_weights_dir_variable_overrides_both(places, tmp_path, monkeypatch):
    cache, bundle = places
    _put(cache, 0.5, 128), _put(bundle, 0.5, 128)
    own = tmp_path / "own"
    own.mkdir()
    mine = _put(own, 0.5, 128)
    monkeypatch.setenv("MBV2GUI_WEIGHTS_DIR", str(own))
    assert resolve_weights("auto", 0.5, 128).path == str(mine)


def test_missing_file_without_download_is_from_scratch_in_words(places):
    status = describe_weights("auto", 0.35, 96)
    assert status.kind == "will_download" and "127.0.0.1" in status.sentence
    assert "about 2 MB, once; they make a good model from a few images per class" in status.sentence
    weights = resolve_weights("auto", 0.35, 96, allow_download=False)
    assert not weights.pretrained and "not been downloaded yet" in weights.sentence
    assert "mobilenet_v2_weights" not in weights.sentence  # words, not a file name


def test_scratch_and_unsupported_sizes(places):
    assert describe_weights("none", 0.35, 100).kind == "none"
    assert resolve_weights("none", 0.35, 100).short == "from scratch"
    status = describe_weights("auto", 0.35, 100)
    assert status.kind == "unsupported" and not status.pretrained
    assert "training starts from scratch" in status.sentence
    assert not resolve_weights("auto", 0.35, 100).pretrained
    with pytest.raises(UserError, match="not alpha 0.35 at 100 px"):
        resolve_weights("imagenet", 0.35, 100)


def test_an_unusable_choice_is_described_not_raised(places, tmp_path):
    status = describe_weights(str(tmp_path / "nope.h5"), 0.35, 96)
    assert status.kind == "unusable" and not status.pretrained
    assert "does not exist" in status.sentence


def test_runs_list_words_never_say_auto():
    assert start_point({"weights": "auto"}, {"pretrained": True}) == "pretrained (ImageNet)"
    assert start_point({"weights": "auto"}, {"pretrained": False}) == "from scratch"
    assert start_point({"weights": "none"}, {}) == "from scratch"
    assert start_point({"weights": "auto"}, {"start_point": "from the run of 6 Dec 01:06"}) \
        == "from the run of 6 Dec 01:06"
