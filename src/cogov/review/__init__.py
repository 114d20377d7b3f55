"""cogov.review (see DESIGN.md)."""
