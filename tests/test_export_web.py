"""The web export in a real browser: the exported folder's model and runtime run in headless
Chromium on pixels the app's model also sees, the answers must match, and a page that answers
differently is refused. The export itself (every format, through export_run) is in
test_export.py; here, what is special to the browser."""

import numpy as np
import pytest

from mbv2gui.core.export import browser, verify, web
from mbv2gui.core.export.formats import ExportError
from mbv2gui.core.export.web_runtime import runtime_missing
from tiny_runs import tiny_run

SIZE = 32
NAMES = ["cat", "dog", "bird"]

needs_runtime = pytest.mark.skipif(bool(runtime_missing()), reason=(
    "ONNX Runtime Web is not in resources/ort-web: run packaging/fetch_ort_web.py (.ci/run does)"))
needs_browser = pytest.mark.skipif(browser.find_browser() is None, reason=(
    "no Chromium or Chrome on this computer (apt-get install chromium; .ci/run installs it), "
    "so the web export cannot be run in a browser here"))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny model with a random head (an untrained one says 1/3 for everything, which would
    let a broken runtime pass), exported as a web folder."""
    tmp = tmp_path_factory.mktemp("web")
    run = tiny_run(tmp / "run", NAMES, SIZE)
    model = run.load_model()
    rng = np.random.default_rng(0)
    dense = [layer for layer in model._flatten_layers() if layer.__class__.__name__ == "Dense"]
    dense[-1].set_weights([rng.normal(0, 0.5, w.shape).astype("float32")
                           for w in dense[-1].get_weights()])
    web.write_web(model, run, tmp)
    pixels = rng.uniform(0, 255, (6, SIZE, SIZE, 3)).astype(np.float32)
    return tmp, pixels, model(pixels, training=False).numpy()


@needs_runtime
@needs_browser
def test_runs_in_chromium_and_refuses_a_page_that_answers_differently(exported):
    out_dir, pixels, reference = exported
    assert reference.argmax(1).tolist() != [0] * 6  # the random head gives varied answers
    result = verify.agreement("web", out_dir, pixels, reference)
    assert result["runtime"].startswith("ONNX Runtime Web ") and "(headless)" in result["runtime"]
    assert result["agreeing"] == 6 and result["max_probability_difference"] < 1e-4

    # The app says something else for every image: the export is refused, in words.
    shuffled = np.roll(reference, 1, axis=1)
    with pytest.raises(ExportError, match="different answer from the app on 6 of 6 images"):
        verify.agreement("web", out_dir, pixels, shuffled)


@needs_runtime
@needs_browser
def test_demo_page_loads_the_model_in_chromium(exported, tmp_path):
    """The page a user opens: served, it loads the model and says it is ready, with the classes."""
    out_dir, _, _ = exported
    with browser.Server({"/": out_dir / "web"}) as server:
        import subprocess
        page = subprocess.run([browser.find_browser(), *browser.FLAGS,
                               f"--user-data-dir={tmp_path}", "--virtual-time-budget=15000",
                               "--dump-dom", f"{server.url}/index.html"],
                              capture_output=True, text=True, timeout=120).stdout
    assert "Ready: 3 classes (cat, dog, bird)" in page


@needs_runtime
def test_without_a_browser_the_check_says_it_did_not_run_in_one(exported, monkeypatch):
    out_dir, pixels, reference = exported
    monkeypatch.setattr(browser, "find_browser", lambda: None)
    result = verify.agreement("web", out_dir, pixels, reference)
    assert result["runtime"].startswith("onnxruntime in Python (no Chromium or Chrome")
    assert result["agreeing"] == 6


def test_a_copy_without_the_browser_runtime_says_how_to_get_it(tmp_path, monkeypatch):
    from mbv2gui.core.export import web_runtime

    monkeypatch.setattr(web_runtime, "runtime_dir", lambda: tmp_path / "nothing")
    run = tiny_run(tmp_path / "run", NAMES, SIZE)
    with pytest.raises(ExportError, match="fetch_ort_web.py"):
        web.write_web(run.load_model(), run, tmp_path)
    assert not (tmp_path / "web" / "model.onnx").exists()


def test_demo_page_escapes_class_names():
    page = web.demo_page(["a</script><b>", "ok"], SIZE)
    assert "</script><b>" not in page and "&lt;/script&gt;" in page
