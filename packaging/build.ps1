# Builds the double-clickable app on Windows: dist\mbv2gui\mbv2gui.exe (onedir) and a .zip of it.
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..")
if (-not $env:VIRTUAL_ENV) {
    python -m venv packaging\.build-venv
    . packaging\.build-venv\Scripts\Activate.ps1
    python -m pip install -q --upgrade pip
    pip install -q -e .
}
pip install -q "pyinstaller>=6.10"
# ImageNet weights for the default settings and 224 px alpha 1.0 (fetched once when missing).
$env:MBV2GUI_BUNDLE_WEIGHTS = python packaging\fetch_weights.py @args
if ($LASTEXITCODE -ne 0) { throw "Not building a release without the pretrained weights (see above)." }
pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build\pyinstaller packaging\mbv2gui.spec
Compress-Archive -Force -Path dist\mbv2gui -DestinationPath dist\mbv2gui-windows.zip
