"""The colours that mean something, the same in every view: an error, a warning (uncertain,
low confidence), and their light backgrounds. Class colours are the project's own
(core/store/project.py CLASS_COLORS)."""

ERROR = "#b3261e"
WARNING = "#b26a00"
ERROR_BACKGROUND = "#fdeceb"
WARNING_BACKGROUND = "#fff5e5"
LEVEL_COLORS = {"error": ERROR, "warning": WARNING}
