"""cogov.intake (see DESIGN.md)."""
