"""The window around the views: app start, main window, menus, context, job runner and flows."""
