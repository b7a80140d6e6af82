"""A complete run folder in seconds: an untrained tiny classifier and the run's files (a run
trained for real takes far longer, and these tests are about what is written, not accuracy)."""

from __future__ import annotations

from pathlib import Path


def tiny_run(run_dir, class_names, size: int = 32):
    from mbv2gui.core.training import model as M
    from mbv2gui.core.runs import Run
    from mbv2gui.core.training.config import TrainConfig
    from mbv2gui.core.training.weights import Weights

    backbone = M.build_backbone(0.35, size, Weights("none", None, "", "none"), 0.9)
    classifier = M.build_classifier(backbone, M.Head.create(len(class_names), 0.2, 1e-4), size)
    run = Run(Path(run_dir), TrainConfig(image_size=size, alpha=0.35, weights="none"),
              list(class_names), {}, {"val_accuracy": 0.5, "weights_source": "none"}, [])
    run.save(classifier)
    return run
