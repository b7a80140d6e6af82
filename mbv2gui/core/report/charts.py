"""Pictures for a report, drawn with Pillow (no plotting library): a run's curves as a PNG, and
any image as a data URI, so the report is one file that a browser and Qt both show.

Drawn at twice the size they are shown, so they stay sharp when printed."""

from __future__ import annotations

import base64
import io
import math

from PIL import Image, ImageDraw, ImageFont

SCALE = 2
COLORS = {"train": (59, 111, 212), "validation": (230, 120, 30)}


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _font(size: int):
    try:
        return ImageFont.load_default(size=size * SCALE)
    except TypeError:  # Pillow < 10.1 has one bitmap size only
        return ImageFont.load_default()


def _finite(values) -> list[float]:
    return [float(v) for v in values
            if isinstance(v, (int, float)) and math.isfinite(float(v))]


def line_chart(title: str, series: dict, width: int = 340, height: int = 220,
               as_percent: bool = False) -> Image.Image:
    """One panel: `series` maps a legend name ("train", "validation") to values per epoch."""
    w, h, s = width * SCALE, height * SCALE, SCALE
    image = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(image)
    font, small = _font(12), _font(10)
    left, right, top, bottom = 46 * s, w - 10 * s, 26 * s, h - 30 * s
    draw.text((left, 6 * s), title, fill=(30, 30, 30), font=font)
    values = [v for name in series for v in _finite(series[name])]
    low, high = (0.0, 1.0) if as_percent else (min(values, default=0.0),
                                                max(values, default=1.0))
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    epochs = max((len(v) for v in series.values()), default=1)

    def x(i):
        return left + (right - left) * (i / max(1, epochs - 1))

    def y(v):
        return bottom - (bottom - top) * ((v - low) / (high - low))

    for k in range(5):  # grid and its labels
        value = low + (high - low) * k / 4
        draw.line([(left, y(value)), (right, y(value))], fill=(225, 225, 225), width=s)
        label = f"{value:.0%}" if as_percent else f"{value:.2g}"
        draw.text((4 * s, y(value) - 6 * s), label, fill=(90, 90, 90), font=small)
    draw.rectangle([left, top, right, bottom], outline=(160, 160, 160), width=s)
    draw.text((left, bottom + 6 * s), "epoch 1", fill=(90, 90, 90), font=small)
    draw.text((right - 50 * s, bottom + 6 * s), f"epoch {epochs}", fill=(90, 90, 90),
              font=small)
    legend_x = right - 150 * s
    for index, (name, raw) in enumerate(series.items()):
        color = COLORS.get(name, (80, 80, 80))
        points = [(x(i), y(float(v))) for i, v in enumerate(raw)
                  if isinstance(v, (int, float)) and math.isfinite(float(v))]
        if len(points) > 1:
            draw.line(points, fill=color, width=2 * s, joint="curve")
        for px, py in points if len(points) < 40 else []:
            draw.ellipse([px - 2 * s, py - 2 * s, px + 2 * s, py + 2 * s], fill=color)
        lx = legend_x + index * 75 * s
        draw.line([(lx, 14 * s), (lx + 14 * s, 14 * s)], fill=color, width=2 * s)
        draw.text((lx + 18 * s, 7 * s), name, fill=(60, 60, 60), font=small)
    return image


def curves_png(history: dict) -> bytes | None:
    """Loss and accuracy side by side, train and validation in each; None without history."""
    panels = []
    for key, title, percent in (("loss", "Loss", False), ("accuracy", "Accuracy", True)):
        series = {name: history.get(prefix + key) for name, prefix in
                  (("train", ""), ("validation", "val_"))}
        series = {name: list(values) for name, values in series.items() if values}
        if series:
            panels.append(line_chart(title, series, as_percent=percent))
    if not panels:
        return None
    joined = Image.new("RGB", (sum(p.width for p in panels) + 10 * SCALE * (len(panels) - 1),
                               max(p.height for p in panels)), "white")
    offset = 0
    for panel in panels:
        joined.paste(panel, (offset, 0))
        offset += panel.width + 10 * SCALE
    return png_bytes(joined)


def thumbnail_png(path: str, side: int = 96) -> bytes | None:
    """A small PNG of an image file through the app's one loader; None when unreadable."""
    from mbv2gui.core.errors import UserError
    from mbv2gui.core.files.images import load_pil

    try:
        image = load_pil(path, max_side=side * SCALE)
    except (UserError, OSError, ValueError):
        return None
    image.thumbnail((side * SCALE, side * SCALE))
    return png_bytes(image)
