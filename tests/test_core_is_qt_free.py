"""The import contract: mbv2gui.core never loads Qt or pyqtgraph, and the store, importer and
loader do not load TensorFlow (it takes seconds and hundreds of MB; only training needs it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_fresh(code: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("QT_API", None)
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_no_core_module_imports_qt():
    result = run_fresh("""
        import importlib, json, pkgutil, sys
        import mbv2gui.core as core
        names = [m.name for m in pkgutil.walk_packages(core.__path__, "mbv2gui.core.")]
        for name in names:
            importlib.import_module(name)
        loaded = [m for m in sys.modules if m.split(".")[0] in ("PySide6", "pyqtgraph", "shiboken6")]
        print(json.dumps({"modules": names, "qt": loaded}))
    """)
    assert result["qt"] == []
    # Not vacuous: the walk really found the core modules.
    for name in ("store.project", "files.images", "files.importer", "files.filecheck",
                 "files.thumbnails", "jobs"):
        assert f"mbv2gui.core.{name}" in result["modules"]


def test_store_importer_and_loader_do_not_load_tensorflow():
    result = run_fresh("""
        import json, sys
        import mbv2gui.core.store.project, mbv2gui.core.files.importer, mbv2gui.core.files.images
        import mbv2gui.core.files.filecheck, mbv2gui.core.files.thumbnails
        print(json.dumps({"tf": [m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")],
                          "pil": "PIL.Image" in sys.modules}))
    """)
    assert result["pil"] and result["tf"] == []
