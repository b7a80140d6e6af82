"""The layering rules in pyproject.toml's import-linter contracts hold, and they can fail.

Static (import-linter reads every import, also those inside functions, without running them);
tests/test_core_is_qt_free.py checks the same in a fresh interpreter at run time."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """Check the contracts of root/pyproject.toml against the mbv2gui package under root."""
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", str(root / "pyproject.toml")],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_every_contract_is_kept():
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 kept, 0 broken" in done.stdout


@pytest.mark.parametrize("module, bad_import, contract", [
    ("core/jobs.py", "import PySide6.QtCore", "core never imports Qt"),
    ("core/files/thumbnails.py", "import pyqtgraph", "core never imports Qt"),
    ("core/store/project.py", "from mbv2gui.core.training import train", "the store and the files"),
    ("core/files/images.py", "import tensorflow", "the store and the files"),
    ("gui/label/preview.py", "from mbv2gui.gui.train import train_plots", "the four views"),
    ("core/runs.py", "from mbv2gui.core.training.train import train", "what needs only a training's settings"),
])
def test_a_forbidden_import_breaks_its_contract(tmp_path, module, bad_import, contract):
    """Not vacuous: a copy of the package with one forbidden import, inside a function as the
    code base likes to hide them, fails the check and names the contract."""
    shutil.copytree(ROOT / "mbv2gui", tmp_path / "mbv2gui",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "mbv2gui" / module
    target.write_text(target.read_text() + f"\n\ndef _forbidden():\n    {bad_import}\n")
    done = lint_imports(tmp_path)
    assert done.returncode != 0
    assert " 0 broken" not in done.stdout, done.stdout
    report = done.stdout.split("Broken contracts", 1)[1]
    assert contract in report
    dotted = "mbv2gui." + module.removesuffix(".py").replace("/", ".")
    assert f"{dotted} ->" in report, report
