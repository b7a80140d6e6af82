"""The network run forward: prediction, Grad-CAM, evaluation, likely-mislabeled and suggestions."""
