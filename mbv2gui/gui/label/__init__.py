"""The Label view: the gallery, the class panel, the preview and suggested labels."""
