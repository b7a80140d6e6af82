"""The Qt shell: widgets that call mbv2gui.core and show what comes back."""
