"""Files on disk: the one image loader, the one folder walker, import, file checks, thumbnails, and writing outputs safely (disk space, whole folders, CSV)."""
