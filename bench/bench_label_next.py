"""Does "Label next" save labels? A simulated person labels CIFAR-10 photos in batches, in the
app's order (core/inference/label_next.py) and in random order, retraining the head each time;
prints the test-accuracy curves against the number of labels as JSON, and how many labels each
order needs to reach given accuracies.

Honest setup, and its limits:
- Data: ../shared/datasets/cifar10-5k (5,000 real 32x32 photos, 10 classes), split per class
  into the backbone's own part, a pool to label and a held-out test set (below).
- Features: ImageNet weights are not available offline, and a randomly initialised backbone
  (BatchNorm calibrated on the photos) gave chance-level features here (12% test accuracy with
  all 4,000 pool labels), which would make any order look alike. So the backbone is one the
  app trains from scratch (train(), 32 px, alpha 0.35, 30 epochs) on a third, separate part:
  100 photos per class that are neither in the pool nor in the test set. Pool: 3,000, test:
  1,000 (split per class, per seed). Features come through the app's own path
  (model.build_feature_model, features.compute_features) and are cached in /tmp, so a rerun
  skips training.
- Head: the app's numpy softmax head (core/inference/mislabeled.fit_softmax_head, as
  likely-mislabeled uses), retrained from scratch after every batch, on the features reduced
  to their top 128 principal directions (fitted on the 4,000 without labels): 1,280 dimensions
  made the 135 head fits take over 10 minutes on the shared 2 cores. The ranking sees the same
  reduced features.
- Labeling: 10 per class to start (random), then batches of 50 up to MAX_LABELS, each batch
  the first 50 of the order ("label next") or 50 at random ("random"); also "uncertainty only"
  (margin, no diversity) to see what the diversity step adds.
Usage: python bench/bench_label_next.py [seeds]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cifar10-5k"
if not DATA.is_dir():
    DATA = Path("/work/shared/datasets/cifar10-5k")
CACHE = Path("/tmp/mbv2gui_bench_cifar_backbone_features.npz")
SIZE, ALPHA = 32, 0.35
BACKBONE_PER_CLASS, BACKBONE_EPOCHS = 100, 30
TEST_PER_CLASS = 100
START_PER_CLASS, BATCH, MAX_LABELS = 10, 50, 800
REDUCED = 128


def load_features():
    """(features (n, d), labels (n,), class names, backbone's validation accuracy) of the
    photos outside the backbone's own training part, computing them once."""
    if CACHE.exists():
        saved = np.load(CACHE, allow_pickle=False)
        return saved["features"], saved["labels"], list(saved["names"]), float(saved["val"])
    import shutil
    import tempfile

    from mbv2gui.core.jobs import ignore_events, never_stop
    from mbv2gui.core.training.features import compute_features
    from mbv2gui.core.training.model import build_feature_model
    from mbv2gui.core.training.train import TrainConfig, train

    names = sorted(p.name for p in DATA.iterdir() if p.is_dir())
    work = Path(tempfile.mkdtemp(prefix="mbv2gui-labelnext-"))
    paths, labels = [], []
    try:
        for k, name in enumerate(names):
            files = sorted((DATA / name).glob("*.jpg"))
            chosen = set(np.random.default_rng(k).choice(len(files), BACKBONE_PER_CLASS,
                                                         replace=False))
            (work / "backbone" / name).mkdir(parents=True)
            for i, f in enumerate(files):
                if i in chosen:
                    shutil.copy(f, work / "backbone" / name / f.name)
                else:
                    paths.append(str(f))
                    labels.append(k)
        run = train(work / "backbone", TrainConfig(image_size=SIZE, alpha=ALPHA, weights="none",
                                                   epochs=BACKBONE_EPOCHS),
                    run_dir=work / "run")
        model = build_feature_model(run.load_model().get_layer("backbone"), SIZE)
        features, ok, _ = compute_features(model, paths, [""] * len(paths), SIZE, None,
                                           ignore_events, never_stop)
        val = float(run.metrics.get("val_accuracy", float("nan")))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert ok.all()
    np.savez(CACHE, features=features, labels=np.array(labels), names=np.array(names),
             val=np.array(val))
    return features, np.array(labels), names, val


def reduced(features):
    from mbv2gui.core.inference.data_map import pca

    x = (features - features.mean(axis=0)) / (features.std(axis=0) + 1e-12)
    return pca(x, REDUCED)


def fit_and_predict(x_train, y_train, x_eval_list, n_classes):
    from mbv2gui.core.inference.mislabeled import _softmax, fit_softmax_head

    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std = std + 1e-6 * std.max() + 1e-30
    w, b = fit_softmax_head((x_train - mean) / std, y_train, n_classes)
    return [_softmax(((x - mean) / std) @ w + b) for x in x_eval_list]


def simulate(features, labels, n_classes, seed, order):
    from mbv2gui.core.inference.label_next import label_next_order, uncertainty

    rng = np.random.default_rng(seed)
    pool, test = [], []
    for k in range(n_classes):
        members = rng.permutation(np.flatnonzero(labels == k))
        test += list(members[:TEST_PER_CLASS])
        pool += list(members[TEST_PER_CLASS:])
    pool, test = np.array(pool), np.array(test)
    labeled = [int(i) for k in range(n_classes)
               for i in rng.choice(pool[labels[pool] == k], START_PER_CLASS, replace=False)]
    curve = []
    while True:
        unlabeled = np.setdiff1d(pool, labeled)
        p_test, p_pool = fit_and_predict(features[labeled], labels[labeled],
                                         [features[test], features[unlabeled]], n_classes)
        curve.append([len(labeled), float(np.mean(p_test.argmax(axis=1) == labels[test]))])
        print(order, seed, *curve[-1], file=sys.stderr, flush=True)
        if len(labeled) >= MAX_LABELS:
            return curve
        if order == "random":
            picked = rng.choice(unlabeled, BATCH, replace=False)
        elif order == "uncertainty only":
            picked = unlabeled[np.argsort(-uncertainty(p_pool), kind="stable")[:BATCH]]
        else:
            ranked = label_next_order(p_pool, features[unlabeled], BATCH)
            picked = unlabeled[ranked[:BATCH]]
        labeled += [int(i) for i in picked]


def labels_to_reach(curve, target):
    return next((n for n, accuracy in curve if accuracy >= target), None)


def main(seeds: int = 3) -> dict:
    start = time.perf_counter()
    features, labels, names, backbone_val = load_features()
    feature_seconds = time.perf_counter() - start
    features = reduced(features)
    orders = ("label next", "random", "uncertainty only")
    curves = {o: [simulate(features, labels, len(names), s, o) for s in range(seeds)]
              for o in orders}
    mean = {o: [[c[0][i][0], round(float(np.mean([run[i][1] for run in c])), 4)]
                for i in range(len(c[0]))] for o, c in curves.items()}
    random_final = mean["random"][-1][1]
    targets = sorted({round(random_final * f, 3) for f in (0.9, 0.95, 1.0)})
    return {
        "setup": {"data": str(DATA), "pool": len(labels) - TEST_PER_CLASS * len(names),
                  "test": TEST_PER_CLASS * len(names), "classes": len(names),
                  "backbone": f"MobileNetV2 alpha {ALPHA}, {SIZE} px, trained from scratch by "
                              f"the app for {BACKBONE_EPOCHS} epochs on {BACKBONE_PER_CLASS} "
                              "other photos per class (no ImageNet weights offline)",
                  "backbone_val_accuracy": round(backbone_val, 3),
                  "head_on": f"top {REDUCED} principal directions of the standardized features",
                  "start": f"{START_PER_CLASS} per class", "batch": BATCH, "seeds": seeds,
                  "feature_seconds": round(feature_seconds, 1),
                  "total_seconds": round(time.perf_counter() - start, 1)},
        "mean_test_accuracy_by_labels": mean,
        "per_seed": {o: [[a for _, a in run] for run in c] for o, c in curves.items()},
        "labels_to_reach (mean curve)": {
            f"{t:.3f}": {o: labels_to_reach(mean[o], t) for o in orders} for t in targets},
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3), indent=1))
