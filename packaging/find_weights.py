"""Prints, separated by os.pathsep, the MobileNetV2 ImageNet weight files the build should
bundle: those in MBV2GUI_WEIGHTS_DIR when set, else those in the builder's Keras cache."""

import os
from pathlib import Path


def weight_files() -> list[Path]:
    folder = os.environ.get("MBV2GUI_WEIGHTS_DIR") or Path.home() / ".keras" / "models"
    return sorted(Path(folder).glob("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_*no_top.h5"))


if __name__ == "__main__":
    print(os.pathsep.join(str(path) for path in weight_files()))
