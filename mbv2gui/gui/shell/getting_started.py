"""Help → Getting Started: what to do first, what pretrained weights are and why they matter,
and how many images per class to expect to need. Short: read in a minute, then done."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout

GETTING_STARTED = """
<h3>Getting started</h3>
<ol>
<li><b>Make a project</b> (File → New Project) and <b>bring your images in</b>: drop a folder on
the window, or File → Import Folder. A folder with one subfolder per class
(<i>shirts/</i>, <i>shoes/</i>) arrives labeled with the subfolder names; loose images arrive
unlabeled. Your files are never moved or changed.</li>
<li><b>Label</b> in the Label view: select an image and press <b>1</b>–<b>9</b> for the class
with that number on its badge (<b>L</b> then a name or number for any class), <b>0</b> to
remove a label, <b>U</b> for the next unlabeled image. Ctrl+Z undoes.</li>
<li><b>Train</b> in the Train view: press Start Training. A fifth of each class is kept aside
(validation): the model never trains on those images, so its score on them says how it will do
on new images.</li>
<li><b>Evaluate</b>: the confusion matrix shows which classes get mixed up; click a cell to see
those images, and fix a wrong label with a number key. "Likely mislabeled" finds more.</li>
<li><b>Predict</b> new images by dropping them on the Predict view, and <b>export</b> the model
(File → Export Model) to use it in other programs.</li>
</ol>
<h4>Pretrained weights</h4>
<p>The network starts from <b>pretrained weights</b>: what MobileNetV2 learned from ImageNet,
about a million photos of a thousand kinds of things (edges, textures, shapes, parts of
objects). Starting from them, your model only has to learn what tells <i>your</i> classes apart:
it needs far fewer images and trains in minutes. They are downloaded once (a few MB). Without
them the network starts from nothing ("from scratch") and needs many more images and much
longer training to do as well.</p>
<h4>How many images?</h4>
<p>With pretrained weights: about <b>20–50 images per class</b> for a first useful model when
the classes look clearly different, and a <b>few hundred per class</b> when they look alike or
the photos vary a lot (light, angle, background). From scratch: several hundred per class at
least. Keep the classes roughly the same size, and use photos like the ones the model will see
later. When a run is weak, the Train view says what would help most.</p>
"""


class GettingStartedDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Getting Started")
        self.browser = QTextBrowser()
        self.browser.setHtml(GETTING_STARTED)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.resize(640, 600)

    def text(self) -> str:
        return self.browser.toPlainText()
