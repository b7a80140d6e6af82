"""Draws the app icon, resources/icons/mbv2gui.png (256×256): a blue tile holding a photo
(sun and hills) with a green label tag. Drawn 4× larger and scaled down for smooth edges.
Run: python resources/make_icon.py"""

from pathlib import Path

from PIL import Image, ImageDraw

SIZE, SCALE = 256, 4
S = SIZE * SCALE


def s(value: float) -> int:
    return round(value * SCALE)


def vertical_gradient(size: int, top: tuple, bottom: tuple) -> Image.Image:
    column = Image.new("RGB", (1, size))
    for y in range(size):
        t = y / (size - 1)
        column.putpixel((0, y), tuple(round(a + (b - a) * t) for a, b in zip(top, bottom)))
    return column.resize((size, size))


def main() -> None:
    icon = Image.new("RGBA", (S, S), (0, 0, 0, 0))
    tile_mask = Image.new("L", (S, S), 0)
    ImageDraw.Draw(tile_mask).rounded_rectangle((s(8), s(8), s(248), s(248)), s(52), fill=255)
    icon.paste(vertical_gradient(S, (72, 139, 240), (35, 86, 190)), (0, 0), tile_mask)

    draw = ImageDraw.Draw(icon)
    # The photo: a white card with a sky, a sun and two hills.
    card = (s(44), s(62), s(196), s(182))
    draw.rounded_rectangle(card, s(14), fill=(255, 255, 255))
    inner = (s(56), s(74), s(184), s(170))
    sky = Image.new("L", (S, S), 0)
    ImageDraw.Draw(sky).rounded_rectangle(inner, s(8), fill=255)
    icon.paste(vertical_gradient(S, (214, 232, 255), (236, 244, 255)), (0, 0), sky)
    draw = ImageDraw.Draw(icon)
    draw.ellipse((s(146), s(86), s(170), s(110)), fill=(255, 196, 61))
    hills = Image.new("L", (S, S), 0)
    hill_draw = ImageDraw.Draw(hills)
    hill_draw.polygon([(s(56), s(170)), (s(56), s(150)), (s(98), s(112)), (s(140), s(170))], fill=255)
    hill_draw.polygon([(s(104), s(170)), (s(140), s(128)), (s(184), s(160)), (s(184), s(170))],
                      fill=255)
    hill_clip = Image.new("L", (S, S), 0)
    hill_clip.paste(hills, (0, 0), sky)
    icon.paste((58, 170, 120), (0, 0), hill_clip)

    # The label tag, overlapping the photo's lower right corner.
    tag = [(s(150), s(150)), (s(206), s(150)), (s(228), s(176)), (s(206), s(202)), (s(150), s(202))]
    draw.polygon([(x + s(3), y + s(4)) for x, y in tag], fill=(18, 50, 120, 90))
    draw.polygon(tag, fill=(46, 190, 120))
    draw.ellipse((s(200), s(170), s(212), s(182)), fill=(255, 255, 255))
    draw.line([(s(162), s(177)), (s(172), s(187)), (s(190), s(165))], fill=(255, 255, 255),
              width=s(7), joint="curve")

    out = Path(__file__).with_name("icons") / "mbv2gui.png"
    out.parent.mkdir(exist_ok=True)
    icon.resize((SIZE, SIZE), Image.LANCZOS).save(out, optimize=True)
    print(out, out.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
