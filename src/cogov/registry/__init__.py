"""cogov.registry (see DESIGN.md)."""
