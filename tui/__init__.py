"""ssh-reset-doctor: from `Connection reset by peer` to a working SSH login."""

__version__ = "0.1.0"
