"""The Qt shell: widgets that call mbv2gui.core and show what comes back."""

from mbv2gui.gui import qtfix  # noqa: F401,E402  (a PySide6 6.12.0 bug guard; see its docstring)
