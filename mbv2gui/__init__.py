"""mbv2gui: turn folders of images into a MobileNetV2 image classifier, without code.

From Python (a notebook): `from mbv2gui import Project, train, predict, evaluate, export`
(see mbv2gui/api.py). Those names are loaded on first use, so `import mbv2gui` stays cheap (no
TensorFlow, no Qt)."""

from mbv2gui.version import __version__

_API = ("Project", "train", "predict", "evaluate", "export", "report", "plot_curves",
        "plot_confusion")
__all__ = ["__version__", *_API]


def __getattr__(name):
    if name in _API:
        from mbv2gui import api

        return getattr(api, name)
    raise AttributeError(f"module 'mbv2gui' has no attribute {name!r}")
