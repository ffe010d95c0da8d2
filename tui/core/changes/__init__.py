"""Planning, previewing, applying and undoing changes on a target."""
