"""kill -9 at any moment loses no committed label and leaves a sound database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from mbv2gui.core.store.project import NewImage, Project

IMAGES, CLASSES = 300, 3

# Step k labels image k % IMAGES with class (k // IMAGES + k) % CLASSES: deterministic, so the
# test knows the exact state after any number of steps, and every image is relabeled often.
LABELER = textwrap.dedent("""
    import sys
    from mbv2gui.core.store.project import Project
    project = Project.open(sys.argv[1])
    ids = [r.id for r in project.images()]
    classes = [c.id for c in project.classes()]
    print("ready", flush=True)
    k = 0
    while True:
        image, label = ids[k % len(ids)], classes[(k // len(ids) + k) % len(classes)]
        project.label_images([image], label)          # returns once committed
        print(k, image, label, flush=True)
        k += 1
""")


def expected_state(ids, classes, steps):
    state = {i: None for i in ids}
    for k in range(steps):
        state[ids[k % len(ids)]] = classes[(k // len(ids) + k) % len(classes)]
    return state


def test_sigkill_while_labeling_loses_nothing(tmp_path):
    project = Project.create(tmp_path / "kill")
    project.add_images([NewImage(str(tmp_path / f"{i}.png"), 1, 1.0, f"h{i}", 4, 4)
                        for i in range(IMAGES)])
    for name in ("a", "b", "c"):
        project.add_class(name)
    ids, classes = [r.id for r in project.images()], [c.id for c in project.classes()]
    project.close()

    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    child = subprocess.Popen([sys.executable, "-c", LABELER, str(project.path)],
                             stdout=subprocess.PIPE, env=env)
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(child.stdout.readline, b"")))
    reader.start()
    deadline = time.monotonic() + 20
    while not lines and time.monotonic() < deadline:
        time.sleep(0.01)
    assert lines and lines[0] == b"ready\n", "the labeling process did not start"
    time.sleep(1.0)
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    reader.join(10)
    assert child.returncode == -signal.SIGKILL

    # Only whole lines count: the kill may cut the last one.
    printed = [line.split() for line in lines[1:] if line.endswith(b"\n")]
    steps = len(printed)
    assert steps > 50, f"only {steps} labels were committed in a second"
    for k, (step, image, label) in enumerate(printed):
        assert int(step) == k and int(image) == ids[k % IMAGES]

    again = Project.open(project.path)
    try:
        assert again._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        state = {r.id: r.class_id for r in again.images()}
    finally:
        again.close()
    # Every printed label is there; at most one more (committed, killed before it printed).
    assert state in (expected_state(ids, classes, steps), expected_state(ids, classes, steps + 1))
    assert sum(v is not None for v in state.values()) >= min(steps, IMAGES)
