"""Everything that computes or stores. Imports no Qt and no pyqtgraph (a test enforces it)."""
