"""cogov.api (see DESIGN.md)."""
