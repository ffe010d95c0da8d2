"""UI-free core: nothing in this package may import textual or paramiko at module level."""
