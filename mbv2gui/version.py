"""The app's version, in a module of its own so that core can name it without importing the
package's lazy notebook API (mbv2gui/__init__.py)."""

__version__ = "0.1.0"
