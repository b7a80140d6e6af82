"""A mirror of the ImageNet weights for tests: a weights file the test makes itself (the legacy
.h5 layout of Keras' ImageNet files), served from a local HTTP server on 127.0.0.1, with
KERAS_HOME, the bundle and MBV2GUI_WEIGHTS_URL pointed so that nothing else is found."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpers_images import imagenet_style_weights
from mbv2gui.core.training.weights import imagenet_file_name

NAME = imagenet_file_name(0.35, 96)


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    return imagenet_style_weights(tmp_path_factory.mktemp("w") / NAME, 0.35, 96)


class _Mirror(BaseHTTPRequestHandler):
    """Serves `server.payload` under NAME, the way `server.mode` says: 'ok', 'cut' (closes the
    connection halfway, under a Content-Length of the whole), 'garbage' (an HTML page), 'missing'."""

    def do_GET(self):  # noqa: N802 - http.server's name
        server = self.server
        server.requests.append(self.path)
        if server.mode == "missing" or not self.path.endswith("/" + NAME):
            self.send_error(404, "Not Found")
            return
        body = b"<html><body>Sign in to continue</body></html>" if server.mode == "garbage" \
            else server.payload
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if server.mode == "cut" else body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture
def mirror(weights_file, tmp_path, monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Mirror)
    server.mode, server.payload, server.requests = "ok", weights_file[0].read_bytes(), []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setenv("MBV2GUI_WEIGHTS_URL", f"http://127.0.0.1:{server.server_port}/weights/")
    monkeypatch.delenv("MBV2GUI_WEIGHTS_DIR", raising=False)
    monkeypatch.setattr("sys._MEIPASS", str(tmp_path / "no-bundle"), raising=False)
    yield server
    server.shutdown()
    server.server_close()


