"""Puts the browser runtime the "web" export ships (ONNX Runtime Web, MIT) into
resources/ort-web/, so the packaged app exports a page that runs in a browser without network.

Why fetched at build time and not committed: its WebAssembly file is ~15 MB, and a pinned npm
version fetched by `npm pack` (the registry checks the tarball's integrity; no install scripts
run) is the same bytes on every build. Run by packaging/build.sh (the files are bundled with
resources/) and by .ci/run before the tests (the browser test needs them). Exits 0 and says so
when the files are already there; exits 1 with a sentence when npm or the network is missing.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# The module alone, not its package (whose other modules need numpy, Pillow, ...): this runs
# before the app's dependencies are installed.
_spec = importlib.util.spec_from_file_location(
    "web_runtime", ROOT / "mbv2gui" / "core" / "export" / "web_runtime.py")
web_runtime = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(web_runtime)
ORT_WEB_VERSION, RUNTIME_FILES = web_runtime.ORT_WEB_VERSION, web_runtime.RUNTIME_FILES
runtime_dir = web_runtime.runtime_dir


def fetch(target: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("fetch_ort_web: npm is not installed; install Node.js (npm) and run "
                         "this again, or the app's web export will say its runtime is missing.")
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([npm, "pack", f"onnxruntime-web@{ORT_WEB_VERSION}", "--silent"],
                       cwd=scratch, check=True, stdout=subprocess.DEVNULL)
        tarball = next(Path(scratch).glob("onnxruntime-web-*.tgz"))
        wanted = {f"package/dist/{name}": name for name in RUNTIME_FILES}
        wanted["package/package.json"] = "package.json"  # its version and MIT licence field
        staging = target.with_name(target.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        with tarfile.open(tarball) as archive:
            for member in archive.getmembers():
                if member.name in wanted and member.isfile():
                    with archive.extractfile(member) as source, \
                            open(staging / wanted[member.name], "wb") as out:
                        shutil.copyfileobj(source, out)
        missing = [n for n in wanted.values() if not (staging / n).is_file()]
        if missing:
            raise SystemExit(f"fetch_ort_web: onnxruntime-web {ORT_WEB_VERSION} has no "
                             f"{', '.join(missing)}; its layout changed: update RUNTIME_FILES.")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)  # whole folder or nothing


def main() -> int:
    target = runtime_dir()
    if all((target / name).is_file() for name in RUNTIME_FILES):
        print(f"ONNX Runtime Web {ORT_WEB_VERSION} is already in {target}.", file=sys.stderr)
        return 0
    fetch(target)
    print(f"Fetched ONNX Runtime Web {ORT_WEB_VERSION} into {target}.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
