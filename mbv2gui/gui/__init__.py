"""The Qt shell: widgets that call mbv2gui.core and show what comes back."""

# A PySide6 6.12.0 bug guard (see its docstring). Importing any gui module runs this first,
# so no module imports qtfix itself.
from mbv2gui.gui import qtfix  # noqa: F401,E402
