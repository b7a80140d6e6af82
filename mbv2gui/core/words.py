"""How counts are said in the sentences the user reads ("1 image", "1,234 images")."""


def plural(count: int, one: str, many: str | None = None) -> str:
    """The count with thousands separators and the word in the right number; `many` for words
    that do not just take an "s" ("class", "classes")."""
    return f"{count:,} {one if count == 1 else (many or one + 's')}"
