"""examples/quickstart.ipynb runs from top to bottom (nbclient, a real kernel), so it cannot go
stale; and `import mbv2gui` stays cheap although it offers the notebook API."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"


def test_importing_mbv2gui_loads_neither_tensorflow_nor_qt():
    code = ("import sys, mbv2gui; mbv2gui.train; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'PySide6') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(NOTEBOOK.parents[1])})
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_quickstart_notebook_runs(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="the test extra installs nbformat")
    nbclient = pytest.importorskip("nbclient", reason="the test extra installs nbclient")
    pytest.importorskip("ipykernel", reason="the test extra installs ipykernel")

    # The kernel imports this checkout's mbv2gui, whatever its working folder
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(NOTEBOOK.parents[1]), *filter(None, [os.environ.get("PYTHONPATH")])]))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # a cell that raises fails the test with the cell and its traceback
    outputs = ["".join(o.get("text", "") or str(o.get("data", {}).get("text/plain", ""))
                       for o in cell.get("outputs", []))
               for cell in notebook.cells if cell.cell_type == "code"]
    text = "\n".join(outputs)
    assert "'0': 24" in text and "'7': 24" in text  # the classes and their counts
    assert "validation images)" in text  # the accuracy with how sure it is
    assert "Same top answer as the app on" in text  # the export was checked
    assert "report.html" in text
