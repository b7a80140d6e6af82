"""The project database's tables. Every statement is IF NOT EXISTS and runs on each open, so a
new index reaches old projects; bump SCHEMA_VERSION and add a migration when a table changes."""

import functools

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT
);
CREATE TABLE IF NOT EXISTS classes (
    id       INTEGER PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE,
    color    TEXT NOT NULL,
    position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS images (
    id           INTEGER PRIMARY KEY,
    path         BLOB NOT NULL UNIQUE,      -- os.fsencode(absolute path): any file name survives
    size         INTEGER,
    mtime        REAL,
    content_hash TEXT,                      -- SHA-1 of the bytes; caches are keyed by it
    width        INTEGER,
    height       INTEGER,
    class_id     INTEGER REFERENCES classes(id) ON DELETE SET NULL,
    split        TEXT NOT NULL DEFAULT 'auto' CHECK (split IN ('auto','train','validation','test')),
    status       TEXT NOT NULL DEFAULT 'ok'   CHECK (status IN ('ok','unreadable','missing','changed')),
    reason       TEXT,
    excluded     INTEGER NOT NULL DEFAULT 0,
    added        REAL
);
CREATE INDEX IF NOT EXISTS images_by_hash  ON images(content_hash);
CREATE INDEX IF NOT EXISTS images_by_class ON images(class_id);
CREATE INDEX IF NOT EXISTS images_by_status ON images(status);  -- status bar counts at 50,000 images
CREATE TABLE IF NOT EXISTS runs (
    id      TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    run_dir TEXT NOT NULL,
    config  TEXT NOT NULL,
    metrics TEXT NOT NULL
);
"""

# Tables a project may lack because it was made before they existed. Opening a writable project
# creates them (IF NOT EXISTS: the migration); the check on open does not require them, so an
# older project that can only be read opens too, with none of their rows.
ADDED_LATER = """
-- The suggestions: the label the model proposes for each unlabeled image, with the image's
-- content hash when proposed (a changed file loses its suggestion). The table keeps the name
-- it was first made with, so older projects' suggestions stay readable.
CREATE TABLE IF NOT EXISTS predictions (
    image_id     INTEGER PRIMARY KEY,
    run_id       TEXT,
    label        TEXT,
    confidence   REAL,
    content_hash TEXT
);
"""


@functools.cache
def expected_columns() -> dict[str, list[str]]:
    """{table: its columns} as SCHEMA defines them, read from SQLite itself (so this can never
    drift from SCHEMA): what opening checks a project has, and what recovery copies."""
    import sqlite3

    db = sqlite3.connect(":memory:")
    try:
        db.executescript(SCHEMA)
        tables = [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' ORDER BY rowid")]
        return {t: [r[1] for r in db.execute(f"PRAGMA table_info({t})")] for t in tables}
    finally:
        db.close()
