"""Training on several machines (`mbv2gui train --distributed`, TF_CONFIG): two worker
processes on 127.0.0.1 give what one process gives for the same global batch, and a worker
killed mid-run fails the job with a sentence instead of hanging it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

from helpers_images import make_class_tree, random_backbone_weights

ROOT = Path(__file__).resolve().parents[1]


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _start(home, command, tf_config=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
               TF_CPP_MIN_LOG_LEVEL="2", XDG_CACHE_HOME=str(home / "cache"),
               KERAS_HOME=str(home / "keras"))
    if tf_config:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return subprocess.Popen([sys.executable, *map(str, command)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _workers(tmp_path, command):
    """Two processes on this computer, each running `command` as one machine of two."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    return [_start(tmp_path / f"worker{i}", command,
                   {"cluster": cluster, "task": {"type": "worker", "index": i}})
            for i in range(2)]


def _setup(tmp_path):
    make_class_tree(tmp_path / "data", ["red", "blue", "green"], per_class=7, size=32)
    return random_backbone_weights(tmp_path / "w.weights.h5")


def test_two_workers_train_what_one_process_trains(tmp_path):
    """Batch 4 on each of two workers against batch 8 in one process: the same steps (the head
    on cached features, no dropout), so the same losses; the chief keeps the run."""
    weights = _setup(tmp_path)
    child = [ROOT / "tests" / "distributed_child.py", "machine", tmp_path, weights]
    one = _start(tmp_path / "one", [*child, tmp_path / "one-run", 8])
    out, err = one.communicate(timeout=300)
    assert one.returncode == 0, err[-3000:]
    alone = json.loads(out.strip().splitlines()[-1])
    workers = _workers(tmp_path, [*child, tmp_path / "two-run", 4])
    outputs = [w.communicate(timeout=300) for w in workers]
    for worker, (out, err) in zip(workers, outputs):
        assert worker.returncode == 0, err[-3000:]
    chief, other = (json.loads(out.strip().splitlines()[-1]) for out, _ in outputs)
    assert chief["run"] == str(tmp_path / "two-run") != other["run"]
    assert len(alone["loss"]) == 3
    for result in (chief, other):
        np.testing.assert_allclose(result["loss"], alone["loss"], rtol=1e-4)
        np.testing.assert_allclose(result["val_loss"], alone["val_loss"], rtol=1e-4)


def test_a_worker_killed_mid_run_fails_the_job_with_a_sentence(tmp_path):
    weights = _setup(tmp_path)
    chief, other = _workers(tmp_path, ["-m", "mbv2gui", "train", tmp_path / "data",
                                       "--image-size", 32, "--weights", weights, "--epochs",
                                       100000, "--batch-size", 4, "--out", tmp_path / "run",
                                       "--distributed"])
    lines = []

    def watch():  # the chief's progress; the other worker dies once training is under way
        for line in iter(chief.stderr.readline, ""):
            lines.append(line)
            if "epoch" in line and other.poll() is None:
                other.kill()

    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    try:
        code = chief.wait(timeout=240)
    finally:
        for process in (chief, other):
            if process.poll() is None:
                process.kill()
    reader.join(timeout=10)
    said = "".join(lines)
    assert other.returncode is not None and code != 0, said[-3000:]
    assert "another machine of the distributed training stopped answering" in said, said[-3000:]
    assert not (tmp_path / "run").exists()
