"""HTML to PDF through Qt's own rich-text engine (QTextDocument + QPdfWriter: no browser
engine, no new dependency). Used for the run report: the same HTML file, printed on A4.

Qt's rich text does not read data: URIs by itself, so each inline picture is handed to the
document as a resource under a short name first."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

_DATA_URI = re.compile(r'src="data:image/[a-z]+;base64,([A-Za-z0-9+/=]+)"')


def html_to_pdf(html: str, out_file) -> Path:
    """Writes `html` as an A4 PDF to `out_file` (whole, or not at all). Needs a QGuiApplication
    (the offscreen platform is enough: see ensure_gui_application)."""
    from PySide6.QtCore import QByteArray, QMarginsF, QUrl
    from PySide6.QtGui import (QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument)

    ensure_gui_application()
    document = QTextDocument()
    images = []

    def as_resource(match):
        name = f"inline-{len(images)}.png"
        image = QImage()
        image.loadFromData(QByteArray(base64.b64decode(match.group(1))))
        images.append((name, image))
        return f'src="{name}"'

    html = _DATA_URI.sub(as_resource, html)
    for name, image in images:
        document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name), image)
    document.setHtml(html)
    out_file = Path(out_file)
    temporary = out_file.with_name(out_file.name + ".partial")
    writer = QPdfWriter(str(temporary))
    writer.setResolution(150)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4),
                                     QPageLayout.Orientation.Portrait,
                                     QMarginsF(12, 12, 12, 12), QPageLayout.Unit.Millimeter))
    writer.setTitle(document.metaInformation(QTextDocument.MetaInformation.DocumentTitle))
    writer.setCreator("mbv2gui")
    document.print_(writer)
    del writer  # the file is finished when the writer is gone
    os.replace(temporary, out_file)
    return out_file


def ensure_gui_application():
    """The running Qt application, or a new QApplication (a widgets one, so that anything
    later in the same process that needs widgets can still use it; the offscreen platform
    when there is no display: the command line prints PDFs on a server too)."""
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    app = QGuiApplication.instance()
    if app is None:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") and \
                os.name == "posix" and not os.environ.get("QT_QPA_PLATFORM"):
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        app = QApplication([])
    return app
