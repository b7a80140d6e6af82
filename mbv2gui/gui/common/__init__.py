"""Widgets and commands shared by several views (views never import each other)."""
