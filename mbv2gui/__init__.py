"""mbv2gui: turn folders of images into a MobileNetV2 image classifier, without code."""

__version__ = "0.1.0"
