"""cogov.audit (see DESIGN.md)."""
