"""The build's weights step (packaging/fetch_weights.py) and the smoke test's report of the
bundle's weights, with no network: a refusing mirror and files the test puts in place."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from mbv2gui.core.training.weights import imagenet_file_name

ROOT = Path(__file__).resolve().parents[1]
WANTED = (imagenet_file_name(0.35, 96), imagenet_file_name(1.0, 224))


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(tmp_path, *args, url=None):
    env = dict(os.environ, KERAS_HOME=str(tmp_path / "keras-home"),
               MBV2GUI_WEIGHTS_URL=url or f"http://127.0.0.1:{_closed_port()}/")
    env.pop("MBV2GUI_WEIGHTS_DIR", None)
    return subprocess.run([sys.executable, "packaging/fetch_weights.py", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env=env)


def test_offline_build_goes_on_and_says_so_loudly_but_a_release_refuses(tmp_path):
    done = fetch(tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == ""
    assert "THIS BUILD HAS NO PRETRAINED WEIGHTS" in done.stderr
    assert "will download them on first use" in done.stderr
    assert "no connection to 127.0.0.1" in done.stderr
    release = fetch(tmp_path, "--release")
    assert release.returncode == 1 and "not building" in release.stderr


def test_weights_already_in_the_cache_are_bundled_without_the_network(tmp_path):
    cache = tmp_path / "keras-home" / "models"
    cache.mkdir(parents=True)
    for name in WANTED:
        (cache / name).write_bytes(b"weights")
    done = fetch(tmp_path, "--release")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().split(os.pathsep) == [str(cache / name) for name in WANTED]
    assert "NO PRETRAINED WEIGHTS" not in done.stderr


def test_smoke_report_sees_the_bundled_weights(tmp_path, monkeypatch):
    from mbv2gui.gui.shell.smoke import _weights_report

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.delenv("MBV2GUI_WEIGHTS_DIR", raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "bundle"), raising=False)
    assert _weights_report() == {"bundled_weights": [], "default_weights": "will_download"}
    bundle = tmp_path / "bundle" / "resources" / "weights"
    bundle.mkdir(parents=True)
    for name in WANTED:
        (bundle / name).write_bytes(b"weights")
    assert _weights_report() == {"bundled_weights": sorted(WANTED), "default_weights": "bundled"}
