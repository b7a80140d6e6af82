"""The training settings: defaults that suit a CPU laptop, and an "Advanced" section that folds
open for input size, alpha, weights, epochs, fine-tuning, augmentation, validation split,
batch size and seed. Settings are remembered per project (project setting "train_config").
`TrainForm.config()` gives the core TrainConfig; no TensorFlow is touched here (which ImageNet
weights exist is a look at a few file names, see mbv2gui.core.training.weights).

"Start from" offers pretrained ImageNet weights (the default), training from scratch, a weights
file or model, and every earlier run of the project with the same image size and width. A file
or run that cannot be a starting point is refused the moment it is chosen, with the reason in
words (mbv2gui.core.training.start_point), never accepted and failing later."""

from __future__ import annotations

import logging
import os
import sqlite3

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QGridLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox,
                               QToolButton, QVBoxLayout, QWidget)

from mbv2gui.core.errors import UserError
from mbv2gui.core.run_names import record_name
from mbv2gui.core.training.budget import duration_words
from mbv2gui.core.training.config import AUGMENTATIONS, INPUT_SIZES, TrainConfig
from mbv2gui.core.training.weights import IMAGENET_ALPHAS, URL_VARIABLE, describe_weights
from mbv2gui.gui.common import colors
from mbv2gui.gui.shell.settings import settings

log = logging.getLogger(__name__)

SETTING_KEY = "train_config"
SIZES = INPUT_SIZES
ALPHAS = IMAGENET_ALPHAS
WEIGHT_CHOICES = (("auto", "Pretrained on ImageNet"),
                  ("none", "Nothing: train from scratch"),
                  ("file", "A weights file or model…"))
MIRROR_KEY = "weightsUrl"  # app setting: where pretrained weights are downloaded from
EPOCH_UNITS = (("epochs", "epochs"), ("minutes", "minutes"))
AUGMENTATION_TITLES = {"augment_flip": "Flip", "augment_rotation": "Rotate",
                       "augment_shift": "Shift", "augment_zoom": "Zoom"}
AUGMENTATION_HELP = ("Show the network randomly changed copies of the training images so that it "
                     "learns what matters, not where or how big it is.")
# Why rotations and zooms start unticked (bench/bench_scratch_recipe.py, cifar10-5k from scratch)
_OFF_FOR_PHOTOS = (" Off at first: on everyday photos, taken upright and framed alike, it cost "
                   "accuracy. Tick it when your objects appear at any {}.")
AUGMENTATION_NOTES = {"augment_rotation": _OFF_FOR_PHOTOS.format("angle (micrographs, "
                                                                 "top-down views)"),
                      "augment_zoom": _OFF_FOR_PHOTOS.format("size")}


def default_config() -> TrainConfig:
    return TrainConfig(image_size=96, alpha=0.35, weights="auto")


class TrainForm(QWidget):
    changed = Signal()  # any setting changed (already saved in the project)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._project = None
        self._runs: list = []  # the project's run records (candidates for "Start from")
        self._loading = False
        self._weights_file = ""
        self._extra: dict = {}  # TrainConfig fields this form has no control for (kept as is)
        self._build()
        self.set_config(default_config())
        self.set_project(None)

    # ----------------------------------------------------------------- layout
    def _build(self) -> None:
        self.summary = QLabel()
        self.summary.setObjectName("trainFormSummary")
        self.summary.setWordWrap(True)
        self.weights_sentence = QLabel()
        self.weights_sentence.setObjectName("weightsSentence")
        self.weights_sentence.setWordWrap(True)
        self.weights_refusal = QLabel()  # why a chosen file or run was refused
        self.weights_refusal.setObjectName("weightsRefusal")
        self.weights_refusal.setWordWrap(True)
        self.weights_refusal.setStyleSheet(f"color: {colors.LEVEL_COLORS['error']};")
        self.weights_refusal.hide()
        self.advanced_button = QToolButton()
        self.advanced_button.setText("Advanced settings")
        self.advanced_button.setCheckable(True)
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_button.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_button.toggled.connect(self.set_advanced_visible)

        self.size_combo = QComboBox()
        for size in SIZES:
            self.size_combo.addItem(f"{size} × {size} px", size)
        self.size_combo.setToolTip("Images are shrunk to this size. Larger sees more detail but "
                                   "trains slower; 96 suits a laptop.")
        self.alpha_combo = QComboBox()
        for alpha in ALPHAS:
            self.alpha_combo.addItem(f"{alpha}", alpha)
        self.alpha_combo.setToolTip("The width of the network: 0.35 is small and fast, 1.0 is "
                                    "the full MobileNetV2.")
        self.weights_combo = QComboBox()
        for key, title in WEIGHT_CHOICES:
            self.weights_combo.addItem(title, key)
        self.weights_combo.setToolTip("Pretrained weights make a good model from a few images "
                                      "per class; an earlier run of this project continues "
                                      "from what it learned.")
        self.weights_file_button = QPushButton("Use weights file…")
        self.weights_file_button.clicked.connect(self.choose_weights_file)
        self.mirror_edit = QLineEdit(str(settings().value(MIRROR_KEY, "") or ""))
        self.mirror_edit.setObjectName("weightsMirror")
        self.mirror_edit.setPlaceholderText("Keras' own address (storage.googleapis.com)")
        self.mirror_edit.setToolTip("Sites behind a firewall can keep their own copy of the "
                                    "pretrained weights: the address of the folder holding "
                                    "Keras' weight files. Remembered for every project.")
        self.mirror_edit.editingFinished.connect(self._on_mirror_edited)
        weights_row = QHBoxLayout()
        weights_row.setContentsMargins(0, 0, 0, 0)
        weights_row.addWidget(self.weights_file_button)
        weights_row.addStretch(1)

        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(0, 1000)
        self.epochs_spin.setSpecialValueText("Automatic")
        self.epochs_spin.setToolTip("How many passes over the images, or how many minutes to "
                                    "train. Automatic: 30 passes for the classifier on ImageNet "
                                    "features, stopping early when it stops improving; from "
                                    "scratch at least 50 passes on a fixed schedule (stopping "
                                    "early there cost accuracy); on many images a time that "
                                    "suits their number.")
        self.epochs_unit = QComboBox()  # a number of epochs, or a time budget in minutes
        self.epochs_unit.setObjectName("epochsUnit")
        for key, title in EPOCH_UNITS:
            self.epochs_unit.addItem(title, key)
        self.epochs_unit.setToolTip("Minutes: the passes and the learning rate are sized to "
                                    "finish in that time, from the speed measured at the start.")
        epochs_row = QHBoxLayout()
        epochs_row.setContentsMargins(0, 0, 0, 0)
        epochs_row.addWidget(self.epochs_spin, 1)
        epochs_row.addWidget(self.epochs_unit)
        self.fine_tune_check = QCheckBox("Fine-tune the network")
        self.fine_tune_check.setToolTip("After the classifier, also adjust the top of the network "
                                        "on your images (slower; only with pretrained weights).")
        self.fine_tune_spin = QSpinBox()
        self.fine_tune_spin.setRange(1, 500)
        self.fine_tune_spin.setSuffix(" epochs")
        self.augment_checks: dict[str, QCheckBox] = {}
        augment_grid = QGridLayout()
        augment_grid.setContentsMargins(0, 0, 0, 0)
        augment_grid.setHorizontalSpacing(16)
        for index, key in enumerate(AUGMENTATIONS):
            check = QCheckBox(AUGMENTATION_TITLES[key])
            check.setToolTip(AUGMENTATION_HELP + AUGMENTATION_NOTES.get(key, ""))
            self.augment_checks[key] = check
            augment_grid.addWidget(check, index // 2, index % 2)
        augment_grid.setColumnStretch(2, 1)
        self.val_spin = QSpinBox()
        self.val_spin.setRange(0, 50)
        self.val_spin.setSuffix(" %")
        self.val_spin.setToolTip("The share of each class kept aside to check the model.")
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 1024)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2_000_000_000)
        self.seed_spin.setToolTip("The same seed, images and settings give the same split and "
                                  "the same model.")

        self.advanced = QWidget()
        self.advanced.setObjectName("advancedSettings")
        form = QFormLayout(self.advanced)
        form.setContentsMargins(0, 4, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Image size:", self.size_combo)
        form.addRow("Width (alpha):", self.alpha_combo)
        form.addRow("Start from:", self.weights_combo)
        form.addRow("", weights_row)
        form.addRow("", self.weights_refusal)
        form.addRow("", self.weights_sentence)
        form.addRow("Download from:", self.mirror_edit)
        form.addRow("Train for:", epochs_row)
        form.addRow("", self.fine_tune_check)
        form.addRow("Fine-tuning:", self.fine_tune_spin)
        form.addRow("Augmentation:", augment_grid)
        form.addRow("Validation split:", self.val_spin)
        form.addRow("Batch size:", self.batch_spin)
        form.addRow("Seed:", self.seed_spin)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.advanced_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.advanced)
        self.advanced.hide()

        self.epochs_unit.currentIndexChanged.connect(self._on_edit)
        for combo in (self.size_combo, self.alpha_combo, self.weights_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
            combo.currentIndexChanged.connect(self._on_edit)
        for spin in (self.epochs_spin, self.fine_tune_spin, self.val_spin, self.batch_spin,
                     self.seed_spin):
            spin.valueChanged.connect(self._on_edit)
        for check in (self.fine_tune_check, *self.augment_checks.values()):
            check.toggled.connect(self._on_edit)

    def set_advanced_visible(self, visible: bool) -> None:
        self.advanced.setVisible(visible)
        if self.advanced_button.isChecked() != visible:
            self.advanced_button.setChecked(visible)
        self.advanced_button.setArrowType(Qt.ArrowType.DownArrow if visible
                                          else Qt.ArrowType.RightArrow)
        self._update_texts()

    # ----------------------------------------------------------------- values
    def config(self) -> TrainConfig:
        weights = self.weights_combo.currentData()
        if weights == "file":
            weights = self._weights_file or "auto"
        elif weights is None:  # an earlier run: its folder
            weights = "auto"
        values = dict(self._extra)
        values.update(
            image_size=int(self.size_combo.currentData()),
            alpha=float(self.alpha_combo.currentData()),
            weights=weights,
            **self._epochs_or_budget(),
            fine_tune_epochs=self.fine_tune_spin.value() if self.fine_tune_check.isChecked() else 0,
            val_split=self.val_spin.value() / 100,
            batch_size=self.batch_spin.value(),
            seed=self.seed_spin.value(),
            **{key: check.isChecked() for key, check in self.augment_checks.items()})
        return TrainConfig.from_dict(values)

    def _epochs_or_budget(self) -> dict:
        """The Train-for row: a number of epochs, or a time budget in minutes (0: automatic)."""
        value = self.epochs_spin.value()
        if self.epochs_unit.currentData() == "minutes":
            return {"epochs": None, "time_budget_s": value * 60.0 if value else None}
        return {"epochs": value or None, "time_budget_s": None}

    def set_config(self, config: TrainConfig | dict) -> None:
        """Shows `config` (a TrainConfig or its dict; unknown keys are ignored)."""
        if isinstance(config, dict):
            config = TrainConfig.from_dict({**default_config().to_dict(), **config})
        self._loading = True
        try:
            self._extra = config.to_dict()
            _select(self.size_combo, int(config.image_size), f"{config.image_size} × "
                    f"{config.image_size} px")
            _select(self.alpha_combo, float(config.alpha), f"{config.alpha}")
            weights = config.weights or "auto"
            self._list_runs(int(config.image_size), float(config.alpha))
            if weights == "imagenet":  # an older setting: the same as automatic, stricter
                weights = "auto"
            if self.weights_combo.findData(weights) >= 0:
                _select(self.weights_combo, weights)
            else:
                self._weights_file = weights
                _select(self.weights_combo, "file")
            budget = config.time_budget_s
            _select(self.epochs_unit, "minutes" if budget else "epochs")
            self.epochs_spin.setValue(max(1, round(budget / 60)) if budget
                                      else int(config.epochs or 0))
            self.fine_tune_check.setChecked(config.fine_tune_epochs > 0)
            self.fine_tune_spin.setValue(config.fine_tune_epochs or 10)
            for key, check in self.augment_checks.items():
                check.setChecked(bool(getattr(config, key)))
            self.val_spin.setValue(round(float(config.val_split) * 100))
            self.batch_spin.setValue(int(config.batch_size))
            self.seed_spin.setValue(int(config.seed))
        finally:
            self._loading = False
        self._update_texts()

    def set_values(self, **values) -> None:
        """Changes some settings by TrainConfig field name (e.g. image_size=32, weights="none"),
        as if the person had changed them; they are saved in the project."""
        self.set_config({**self.config().to_dict(), **values})
        self.save()
        self.changed.emit()

    def choose_weights_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Use a Weights File", self._weights_file or "",
            "Keras weights (*.h5 *.weights.h5 *.keras);;All files (*)")
        if path:
            self.use_weights_file(path)

    def use_weights_file(self, path: str) -> bool:
        """Starts from this weights file, model or run folder, if it can be a starting point
        for the current size and width; otherwise says why and keeps the previous choice."""
        config = self.config()
        status = describe_weights(os.fspath(path), config.alpha, config.image_size)
        if status.kind == "unusable":
            self.weights_refusal.setText(status.sentence)
            self.weights_refusal.show()
            self.set_advanced_visible(True)  # where the refusal stands, under "Start from"
            return False
        self.weights_refusal.hide()
        self._weights_file = os.fspath(path)
        if self.weights_combo.currentData() == "file":
            self._on_edit()
        else:
            _select(self.weights_combo, "file")  # -> _on_edit
        return True

    def _on_mirror_edited(self) -> None:
        settings().setValue(MIRROR_KEY, self.mirror_edit.text().strip())
        self._update_texts()

    # ----------------------------------------------------------------- earlier runs
    def set_runs(self, records) -> None:
        """The project's runs (Project.runs()): those with this size and width are offered as
        starting points in "Start from"."""
        self._runs = list(records or [])
        self._relist_runs()
        self._update_texts()

    def _relist_runs(self) -> None:
        """The run entries for the current size and width, keeping the choice: a chosen run
        that no longer fits stays chosen as a file, so the sentence says why it cannot be used."""
        weights = self.config().weights
        self._list_runs(int(self.size_combo.currentData()), float(self.alpha_combo.currentData()))
        if self.weights_combo.findData(weights) < 0:
            self._weights_file = weights
            weights = "file"
        blocked = self.weights_combo.blockSignals(True)
        self.weights_combo.setCurrentIndex(self.weights_combo.findData(weights))
        self.weights_combo.blockSignals(blocked)

    def _list_runs(self, size: int, alpha: float) -> None:
        """Rebuilds the run entries of "Start from" for this size and width (a run of another
        size or width cannot be a starting point: its backbone has other shapes)."""
        blocked = self.weights_combo.blockSignals(True)
        try:
            while self.weights_combo.count() > len(WEIGHT_CHOICES):
                self.weights_combo.removeItem(self.weights_combo.count() - 1)
            for record in self._runs:
                run_config = record.config or {}
                if (int(run_config.get("image_size", 0)) == size
                        and float(run_config.get("alpha", 0)) == alpha):
                    self.weights_combo.addItem(f"Start from: {record_name(record)}",
                                               str(record.run_dir))
        finally:
            self.weights_combo.blockSignals(blocked)

    # ----------------------------------------------------------------- project
    def set_project(self, project) -> None:
        """Shows the settings remembered for `project` (defaults for a new one)."""
        self._project = project
        saved = None
        if project is not None:
            try:
                saved = project.setting(SETTING_KEY)
            except (sqlite3.Error, ValueError) as exc:
                log.warning("Could not read the training settings: %s", exc)
        self.set_config(saved if isinstance(saved, dict) else default_config())
        self.setEnabled(project is not None)

    def _on_edit(self, *_args) -> None:
        if self._loading:
            return
        self.weights_refusal.hide()
        self._relist_runs()
        self.save()
        self._update_texts()
        self.changed.emit()

    def save(self) -> None:
        if self._project is None:
            return
        try:
            self._project.set_setting(SETTING_KEY, self.config().to_dict())
        except (sqlite3.Error, UserError) as exc:  # a project closed under us: nothing to keep
            log.warning("Could not remember the training settings: %s", exc)

    # ----------------------------------------------------------------- words
    def weights_status(self):
        """Where this setting's weights would come from (core WeightsStatus: kind, sentence);
        no network, no TensorFlow."""
        config = self.config()
        return describe_weights(config.weights, config.alpha, config.image_size, mirror_url())

    def weights_text(self, status=None) -> str:
        """One plain sentence: which weights this setting would start from."""
        if self.weights_combo.currentData() == "file" and not self._weights_file:
            return "Choose a weights file or model with “Use weights file…”."
        return (status or self.weights_status()).sentence

    def _update_texts(self) -> None:
        config = self.config()
        self.fine_tune_spin.setEnabled(self.fine_tune_check.isChecked())
        # Once per change: checking a chosen model reads (and fingerprints) its file.
        status = self.weights_status()
        # A long file name has no spaces to wrap at; let it break after its underscores.
        sentence = self.weights_text(status).replace("_", "_\u200b")
        self.weights_sentence.setText(sentence)
        unusable = status.kind == "unusable"
        self.weights_sentence.setStyleSheet(f"color: {colors.LEVEL_COLORS['error']};"
                                            if unusable else "")
        self.weights_file_button.setToolTip(self._weights_file or "Pick a .h5 weights file for "
                                            "the MobileNetV2 backbone (without its top).")
        epochs = (f"a {duration_words(config.time_budget_s)} time budget" if config.time_budget_s
                  else f"{config.epochs} epochs" if config.epochs else "automatic epochs")
        fine = f", then fine-tuning {config.fine_tune_epochs} epochs" if config.fine_tune_epochs else ""
        text = (f"MobileNetV2 {config.alpha} at {config.image_size} px, {epochs}{fine}, "
                f"{config.val_split:.0%} of the images kept aside for validation.")
        if not self.advanced.isVisible() and not self.advanced_button.isChecked():
            text += f"\n{sentence}"  # open, the sentence stands under "Start from"
        self.summary.setText(text)


def mirror_url() -> str | None:
    """Where pretrained weights are downloaded from: the app setting, else the
    MBV2GUI_WEIGHTS_URL variable, else Keras' own address (None)."""
    return (str(settings().value(MIRROR_KEY, "") or "").strip()
            or os.environ.get(URL_VARIABLE) or None)


def _select(combo: QComboBox, value, title: str | None = None) -> None:
    index = combo.findData(value)
    if index < 0 and title is not None:  # a value the list does not offer (an old setting)
        combo.addItem(title, value)
        index = combo.count() - 1
    if index >= 0:
        combo.setCurrentIndex(index)
