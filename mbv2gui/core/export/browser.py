"""Runs a page in a real headless browser (Chromium or Chrome) and takes back what it posts.

Why a local HTTP server and not file://: browsers refuse to fetch a model or import a module
from a file opened directly. The server listens on 127.0.0.1 on a free port, serves `folders`
(URL prefix -> folder) and takes one POST /result: the page's answer (JSON). The browser starts
with a throwaway profile and everything that would reach the network switched off; it is
stopped, with its child processes, as soon as the answer is in (or the time is up).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mbv2gui.core.errors import UserError

BROWSER_ENV = "MBV2GUI_BROWSER"  # a browser executable to use instead of the ones found
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
_PATHS = ("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
          "/Applications/Chromium.app/Contents/MacOS/Chromium",
          r"C:\Program Files\Google\Chrome\Application\chrome.exe",
          r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps")


class BrowserError(UserError):
    """The browser could not be started, or the page did not answer in time."""


def find_browser() -> str | None:
    """The executable of a Chromium-family browser on this machine, or None."""
    chosen = os.environ.get(BROWSER_ENV)
    if chosen:
        return chosen if Path(chosen).is_file() else None
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    return next((p for p in _PATHS if Path(p).is_file()), None)


def browser_version(executable: str) -> str:
    try:
        out = subprocess.run([executable, "--version"], capture_output=True, text=True,
                             timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        out = ""
    # "Chromium 150.0.7871.100 built on Debian GNU/Linux 12" -> up to its version number
    found = re.match(r"\D*[\d.]+", out)
    return found.group(0).strip() if found else Path(executable).name


def _handler(folders: dict, answers: list, arrived: threading.Event):
    class Handler(SimpleHTTPRequestHandler):
        def translate_path(self, path):
            path = unquote(urlsplit(path).path)
            for prefix, folder in folders.items():
                if path.startswith(prefix):
                    relative = Path(path[len(prefix):].lstrip("/"))
                    if ".." in relative.parts:
                        return str(Path(folder) / "__refused__")
                    return str(Path(folder) / relative)
            return str(Path(next(iter(folders.values()))) / "__refused__")

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                answers.append(json.loads(body))
            except ValueError:
                answers.append({"error": "the page posted something that is not JSON"})
            self.send_response(204)
            self.end_headers()
            arrived.set()

        def log_message(self, *args):  # a quiet server: the page's answer is what matters
            pass

    Handler.extensions_map = {**SimpleHTTPRequestHandler.extensions_map,
                              ".mjs": "text/javascript", ".js": "text/javascript",
                              ".wasm": "application/wasm"}
    return Handler


class Server:
    """A local HTTP server for `folders` (URL prefix -> folder), on a free port."""

    def __init__(self, folders: dict):
        self.answers: list = []
        self.arrived = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0),
                                         _handler(folders, self.answers, self.arrived))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def start_browser(executable: str, profile: str, *args: str) -> subprocess.Popen:
    """Its own process group (POSIX), so stop_browser ends its renderer processes too."""
    command = [executable, *FLAGS, f"--user-data-dir={profile}", *args]
    if sys.platform == "win32":
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                creationflags=subprocess.CREATE_NEW_PROCESS_GROUP)
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def stop_browser(process: subprocess.Popen) -> str:
    """Stops the browser we started; what it wrote on stderr (for the error detail)."""
    if process.poll() is None:
        try:
            if sys.platform == "win32":
                process.terminate()
            else:
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()
    try:
        return process.stderr.read().decode("utf-8", "replace")[-2000:]
    except (OSError, ValueError):
        return ""


def page_answer(executable: str, folders: dict, page: str, timeout: float = 120.0) -> dict:
    """Opens `page` (a path under one of `folders`' prefixes) in the headless browser and
    returns the JSON the page POSTs to /result. A BrowserError if none comes in time."""
    with Server(folders) as server, tempfile.TemporaryDirectory() as profile:
        process = start_browser(executable, profile, f"{server.url}{page}")
        try:
            server.arrived.wait(timeout)
        finally:
            log = stop_browser(process)
        if not server.answers:
            raise BrowserError(f"The browser ({Path(executable).name}) did not answer within "
                               f"{timeout:.0f} seconds, so the web export could not be checked; "
                               "try again, or choose another format.", log)
        return server.answers[0]


def screenshot(executable: str, folders: dict, page: str, out_file, size=(900, 700),
               wait_ms: int = 8000) -> None:
    """A PNG of `page` after `wait_ms` of the page's own time (for looking at it)."""
    with Server(folders) as server, tempfile.TemporaryDirectory() as profile:
        process = start_browser(executable, profile, f"--screenshot={out_file}",
                                f"--window-size={size[0]},{size[1]}", "--hide-scrollbars",
                                f"--virtual-time-budget={wait_ms}", f"{server.url}{page}")
        try:
            process.wait(timeout=120)
        finally:
            stop_browser(process)
