"""The project file: one SQLite database per project; its schema, queries, splits, errors and recovery."""
