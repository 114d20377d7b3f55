"""cogov.identity: staff users and their roles (see DESIGN.md)."""
