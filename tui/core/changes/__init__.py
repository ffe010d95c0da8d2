"""Planning, previewing, applying and undoing changes on a target (DESIGN.md §5)."""
