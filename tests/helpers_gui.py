"""What the GUI tests share."""


def shown(qtbot, widget, width: int, height: int):
    """`widget` at the given size, on screen (offscreen under QT_QPA_PLATFORM=offscreen) and
    closed by qtbot at the test's end."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget
