"""Rows read straight from a damaged SQLite file's pages, for recovery when a broken page
high in a table's b-tree (its root, say) hides healthy rows below it from every query.

This is what SQLite's own `.recover` does with its "lost_and_found" table, for the one shell
that has it (Debian's `sqlite3` is built without the page access it needs): walk every page,
keep the table leaves (type 13) that are not on the free list, decode each cell's record
(https://www.sqlite.org/fileformat2.html, "Record Format"). A cell whose payload spills onto
overflow pages is left out; a page whose bytes do not add up is skipped whole.
"""

from __future__ import annotations

import struct
from pathlib import Path

LEAF_TABLE = 13


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """(value, next offset) of the SQLite varint at `at`."""
    value = 0
    for i in range(8):
        byte = data[at + i]
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, at + i + 1
    return (value << 8) | data[at + 8], at + 9


_FIXED = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8, 7: 8}


def _value(serial: int, body: bytes):
    if serial in (1, 2, 3, 4, 5, 6):
        return int.from_bytes(body, "big", signed=True)
    if serial == 7:
        return struct.unpack(">d", body)[0]
    if serial >= 12 and serial % 2 == 0:
        return bytes(body)
    return body.decode("utf-8", errors="replace")


def _record(payload: bytes) -> list:
    header_size, at = _varint(payload, 0)
    serials = []
    while at < header_size:
        serial, at = _varint(payload, at)
        if serial in (10, 11):
            raise ValueError("reserved serial type")
        serials.append(serial)
    values, at = [], header_size
    for serial in serials:
        if serial in (0, 8, 9):
            values.append(None if serial == 0 else serial - 8)
            continue
        size = _FIXED.get(serial) or (serial - 12) // 2
        if at + size > len(payload):
            raise ValueError("record runs past its payload")
        values.append(_value(serial, payload[at:at + size]))
        at += size
    return values


def _free_pages(data: bytes, page_size: int) -> set[int]:
    """Page numbers on the free list (old contents that must not come back), as far as the
    list can be followed."""
    free, trunk, seen = set(), struct.unpack(">I", data[32:36])[0], set()
    while trunk and trunk not in seen and trunk * page_size <= len(data):
        seen.add(trunk)
        free.add(trunk)
        base = (trunk - 1) * page_size
        following, count = struct.unpack(">II", data[base:base + 8])
        for i in range(min(count, page_size // 4 - 2)):
            free.add(struct.unpack(">I", data[base + 8 + 4 * i:base + 12 + 4 * i])[0])
        trunk = following
    return free


def leaf_rows(path: Path) -> list[tuple[int, list]]:
    """(rowid, values) of every cell of every table leaf page that can be decoded."""
    data = Path(path).read_bytes()
    if len(data) < 100:
        return []
    page_size = struct.unpack(">H", data[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        return []
    usable = page_size - data[20]
    max_local = usable - 35  # a larger payload spills onto overflow pages
    try:
        free = _free_pages(data, page_size)
    except (struct.error, IndexError):
        free = set()
    rows = []
    for number in range(2, len(data) // page_size + 1):
        base = (number - 1) * page_size
        if number in free or data[base] != LEAF_TABLE:
            continue
        try:
            rows.extend(_page_cells(data[base:base + page_size], usable, max_local))
        except (ValueError, IndexError, struct.error, UnicodeError):
            continue
    return rows


def _page_cells(page: bytes, usable: int, max_local: int) -> list[tuple[int, list]]:
    count = struct.unpack(">H", page[3:5])[0]
    if 8 + 2 * count > usable:
        raise ValueError("more cells than fit")
    cells = []
    for i in range(count):
        at = struct.unpack(">H", page[8 + 2 * i:10 + 2 * i])[0]
        if not 8 <= at < usable:
            raise ValueError("a cell outside its page")
        size, at = _varint(page, at)
        rowid, at = _varint(page, at)
        if size > max_local or at + size > usable:
            continue  # on overflow pages, or cut short
        cells.append((rowid, _record(page[at:at + size])))
    return cells
