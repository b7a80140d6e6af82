"""Training under tf.distribute: MirroredStrategy over two logical CPU devices gives what one
device gives for the same global batch (in a fresh process, see tests/distributed_child.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _child(*args, cache=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
               TF_CPP_MIN_LOG_LEVEL="2")
    if cache:  # the feature cache, KERAS_HOME: nothing written outside the test's folder
        env.update(XDG_CACHE_HOME=str(cache / "cache"), KERAS_HOME=str(cache / "keras"))
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "distributed_child.py"), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_replicas_train_the_step_one_device_trains():
    result = _child("step")
    assert result["replicas"] == 2
    one, two = result["one"], result["two"]
    np.testing.assert_allclose(two["scores"], one["scores"], rtol=1e-5, atol=1e-6)
    for a, b in zip(one["weights"], two["weights"]):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
    first = np.concatenate([np.asarray(w) for w in one["weights"]])
    assert np.abs(first).sum() > 0  # the comparison is of trained weights, not of nothing


def test_a_whole_training_on_two_replicas_gives_the_one_device_result(tmp_path):
    """Per-replica batch 4 on two replicas against batch 8 on one: the same steps, so the same
    losses and predictions (the head on cached features: no dropout, no BatchNorm)."""
    result = _child("train", tmp_path, cache=tmp_path)
    one, two = result["one"], result["two"]
    assert len(one["loss"]) == 3
    np.testing.assert_allclose(two["loss"], one["loss"], rtol=1e-4)
    np.testing.assert_allclose(two["val_loss"], one["val_loss"], rtol=1e-4)
    np.testing.assert_allclose(two["probabilities"], one["probabilities"], atol=1e-5)


def test_several_gpus_get_a_mirrored_strategy_one_gets_the_default(monkeypatch):
    from mbv2gui.core.training import tfsetup

    try:
        monkeypatch.setattr(tfsetup, "gpu_count", lambda: 1)
        tfsetup.strategy.cache_clear()
        assert tfsetup.strategy() is tfsetup.tf().distribute.get_strategy()
        monkeypatch.setattr(tfsetup, "gpu_count", lambda: 2)
        tfsetup.strategy.cache_clear()
        assert isinstance(tfsetup.strategy(), tfsetup.tf().distribute.MirroredStrategy)
    finally:
        tfsetup.strategy.cache_clear()  # the next test sees this machine's own strategy
