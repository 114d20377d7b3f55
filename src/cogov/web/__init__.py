"""cogov.web (see DESIGN.md)."""
