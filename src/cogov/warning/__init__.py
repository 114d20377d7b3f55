"""cogov.warning (see DESIGN.md)."""
