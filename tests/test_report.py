"""The report of a run: one self-contained HTML file with the run's accuracy, every class, the
confusion matrix, the mistakes as pictures and the exports; and the PDF printed from it by Qt.
The run is written by hand (no training: the report reads files only)."""

import re

import pytest

from helpers_images import make_class_tree
from mbv2gui.core.export.record import record
from mbv2gui.core.report.page import write_report_html
from mbv2gui.core.runs import Run
from mbv2gui.core.training.train import TrainConfig

NAMES = ["red", "green", "blue"]


@pytest.fixture
def run_dir(tmp_path):
    images = make_class_tree(tmp_path / "data", NAMES, per_class=4, size=24)
    # Validation: 4 per class; "green" taken for "red" twice, once very confidently.
    chosen = {"red": [0, 0, 0, 0], "green": [0, 0, 1, 1], "blue": [2, 2, 2, 1]}
    confidence = {("green", 0): 0.97}
    predictions = []
    for true, name in enumerate(NAMES):
        for i, (path, answer) in enumerate(zip(images[name], chosen[name])):
            top = confidence.get((name, i), 0.6)
            p = [(1 - top) / 2] * 3
            p[answer] = top
            predictions.append({"path": str(path), "content_hash": None, "true": true,
                                "split": "validation", "probabilities": p})
    metrics = {"val_accuracy": 9 / 12, "pretrained": False, "weights_source": "none",
               "counts": {"train": {"red": 20, "green": 17, "blue": 23},
                          "validation": {n: 4 for n in NAMES}}}
    history = {"loss": [1.1, 0.8, 0.6], "val_loss": [1.0, 0.9, 0.7],
               "accuracy": [0.4, 0.6, 0.8], "val_accuracy": [0.5, 0.6, 0.75]}
    run = Run(tmp_path / "run", TrainConfig(image_size=32, weights="none", epochs=3),
              NAMES, history, metrics, predictions)
    run.save()
    record(run.run_dir, "web", tmp_path / "out", ["web"],
           {"images": 30, "agreeing": 30, "top1_agreement": 1.0, "source": "validation images",
            "runtime": "ONNX Runtime Web 1.31.1 in Chromium 150 (headless)"},
           "2026-12-06T03:40:00")
    return run.run_dir


def test_html_report_says_accuracy_classes_matrix_mistakes_and_exports(run_dir, tmp_path):
    out = tmp_path / "report.html"
    text = write_report_html(run_dir, out)
    assert out.read_text(encoding="utf-8") == text
    assert "75% ± " in text and "(on 12 validation images)" in text
    for name in NAMES:
        assert f"<td>{name}</td>" in text  # counts and per-class tables
    # The confusion matrix, row by row: counts in order, true class first.
    cells = re.findall(r"<tr><th align=left>(\w+)</th>(.*?)</tr>", text)
    matrix = [[int(n) for n in re.findall(r">(\d+)</td>", row)] for _, row in cells]
    assert [name for name, _ in cells] == NAMES
    assert matrix == [[4, 0, 0], [2, 2, 0], [0, 1, 3]]
    # Training counts, split, settings and start point in words.
    assert ">17</td>" in text and "60 to train on, 12 kept aside for validation" in text
    assert "from scratch" in text and "64×64" not in text and "32×32 pixels" in text
    # Most confident mistake first, as an inline picture; nothing fetched from elsewhere.
    mistakes = text.split("Most confident mistakes")[1]
    assert mistakes.count('src="data:image/png;base64,') == 3
    assert mistakes.index("97%") < mistakes.index("60%")
    assert not re.search(r'src="(?!data:)', text) and "<script" not in text
    # The curves as a picture, the export and what it was checked against, the version.
    assert 'alt="loss and accuracy per epoch"' in text
    assert "Web page (runs in a browser)" in text and "on 30 of 30 images (100.0%)" in text
    assert "(the images: validation images)" in text
    assert "Chromium 150 (headless)" in text and "mbv2gui 0." in text


def test_cli_writes_html_and_a_pdf_whose_pages_hold_the_report(run_dir, tmp_path, capsys):
    from mbv2gui.cli import main

    assert main(["report", str(run_dir), "--out", str(tmp_path / "r.pdf")]) == 0
    assert "r.html" in capsys.readouterr().out
    pdf = (tmp_path / "r.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and b"/Image" in pdf  # curves and thumbnails were embedded
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 2
    assert (tmp_path / "r.html").is_file() and not list(tmp_path.glob("*.partial"))
    assert main(["report", str(tmp_path / "nope"), "--out", str(tmp_path / "x")]) == 2
    assert "not a training run folder" in capsys.readouterr().err


def test_a_run_without_curves_or_validation_images_still_reports(tmp_path):
    run = Run(tmp_path / "run", TrainConfig(image_size=32, weights="none"), NAMES, {},
              {"weights_source": "none"}, [])
    run.save()
    text = write_report_html(run.run_dir, tmp_path / "r.html")
    assert "not measured (no validation images)" in text
    assert "No curves were recorded" in text and "not been exported yet" in text


def test_the_window_writes_a_report_off_its_gui_thread(qtbot, run_dir, tmp_path):
    """File → Save Report…: the charts and the PDF take a second or two, so a job writes them
    and the status bar says where they went."""
    import threading

    from mbv2gui.gui.common import report_files
    from mbv2gui.gui.shell.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    threads = []
    real = report_files.write_report
    report_files.write_report = lambda *a, **k: (threads.append(threading.current_thread()),
                                                 real(*a, **k))[1]
    try:
        job = window.menus.write_report(run_dir, str(tmp_path / "for my supervisor.pdf"))
        with qtbot.waitSignal(job.finished, timeout=60_000):
            pass
    finally:
        report_files.write_report = real
        window.runner.shutdown(5.0)
    assert threads and threads[0] is not threading.main_thread()
    assert (tmp_path / "for my supervisor.pdf").read_bytes().startswith(b"%PDF")
    assert "75%" in (tmp_path / "for my supervisor.html").read_text(encoding="utf-8")
    assert "Saved the report" in window.statusBar().currentMessage()
