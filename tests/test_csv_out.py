"""The one CSV writer: formula injection neutralised, any file name written, atomic."""

from __future__ import annotations

import csv
import errno
import io
import os
import subprocess
import sys

import pytest
from imagefiles import non_utf8_name, write_image

from mbv2gui.core.files.csv_out import safe_cell, write_csv_file
from mbv2gui.core.errors import UserError
from mbv2gui.core.inference.predict import save_csv, write_csv

HOSTILE = ["=cmd|' /C calc'!A0", "+1", "@SUM(A1)", "-2+3", "\t=1+1", "\r=1"]


def _read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _row(path, label, confidence=0.75):
    return {"path": path, "label": label, "confidence": confidence,
            "top_k": [(label, confidence)], "error": None}


def test_formula_cells_are_neutralised_and_numbers_stay_numbers(tmp_path):
    rows = [_row(f"/images/{i}.png", name) for i, name in enumerate(HOSTILE)]
    rows.append(_row("-starts-with-dash.png", "plain", -0.5))
    save_csv(rows, tmp_path / "p.csv", 1)
    table = _read(tmp_path / "p.csv")
    assert table[0] == ["path", "label", "confidence", "label_1", "confidence_1", "error"]
    for name, line in zip(HOSTILE, table[1:]):
        assert line[1] == line[3] == "'" + name  # shown as text, never run
    assert table[-1][:3] == ["'-starts-with-dash.png", "plain", "-0.500000"]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) and cell != "-0.500000"
                   for line in table for cell in line)
    assert safe_cell(3) == 3 and safe_cell(None) == "" and safe_cell("ok") == "ok"


def test_a_non_utf8_file_name_is_written_with_every_row(tmp_path):
    odd = non_utf8_name(tmp_path)  # "caf\udce9.png": the byte 0xE9 alone
    rows = [_row(str(tmp_path / "a.png"), "red"), _row(odd, "blue"),
            _row(str(tmp_path / "z.png"), "red")]
    save_csv(rows, tmp_path / "p.csv", 1)
    table = _read(tmp_path / "p.csv")
    assert len(table) == 4 and table[2][0].endswith("caf\\xe9.png") and table[3][1] == "red"
    stream = io.StringIO()  # the terminal gets the same
    write_csv(rows, stream, 1)
    assert "caf\\xe9.png" in stream.getvalue() and len(stream.getvalue().splitlines()) == 4


def test_a_crash_mid_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "p.csv"
    target.write_text("the old file\n", encoding="utf-8")
    killed = subprocess.Popen([sys.executable, "-c", "pass"])
    killed.wait()
    (tmp_path / f".p.csv.partial-{killed.pid}").write_text("a kill's leftover")

    def rows():
        yield ["a", 1]
        raise RuntimeError("killed half-way")

    with pytest.raises(RuntimeError):
        write_csv_file(target, ["name", "n"], rows())
    assert target.read_text(encoding="utf-8") == "the old file\n"
    assert os.listdir(tmp_path) == ["p.csv"]


def test_a_full_disk_mid_write_is_a_sentence_and_leaves_the_old_file(tmp_path, monkeypatch):
    import shutil

    target = tmp_path / "p.csv"
    target.write_text("the old file\n", encoding="utf-8")
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage._replace(free=12_000_000))

    def rows():
        yield ["a", 1]
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(UserError) as error:
        write_csv_file(target, ["name", "n"], rows(), "save the predictions")
    assert f"The disk holding {target}" in error.value.message
    assert "is full: 12 MB free, so the app could not save the predictions" in error.value.message
    assert target.read_text(encoding="utf-8") == "the old file\n"
    assert os.listdir(tmp_path) == ["p.csv"]


def test_a_missing_folder_is_a_sentence(tmp_path):
    with pytest.raises(UserError, match="could not be written .*choose another name or folder"):
        write_csv_file(tmp_path / "nowhere" / "p.csv", ["a"], [])


def test_predict_csv_from_the_command_line(tmp_path, capsys):
    """End to end: a run whose class names are formulas, a folder with a non-UTF-8 file name
    and an unreadable file: every file gets its row, every formula is neutralised."""
    from tiny_runs import tiny_run

    from mbv2gui.cli import main

    run = tiny_run(tmp_path / "run", HOSTILE[:4])
    folder = tmp_path / "images"
    folder.mkdir()
    write_image(non_utf8_name(folder), (200, 30, 30))
    write_image(folder / "b.png", (30, 200, 30))
    (folder / "c.png").write_bytes(b"\x89PNG broken")
    assert main(["predict", str(run.run_dir), str(folder), "--csv", str(tmp_path / "p.csv"),
                 "--top-k", "4", "--quiet"]) == 0
    table = _read(tmp_path / "p.csv")
    assert len(table) == 4
    assert sorted(line[0].rsplit(os.sep, 1)[-1] for line in table[1:]) == \
        ["b.png", "c.png", "caf\\xe9.png"]
    labels = [cell for line in table[1:] for cell in line[1:-1:2] if cell]
    assert len(labels) == 2 * 5 and all(label[0] == "'" for label in labels)
    assert [line[-1] != "" for line in table[1:]].count(True) == 1  # c.png, with its reason
    assert list(tmp_path.iterdir()) and not [p for p in os.listdir(tmp_path) if "partial" in p]
