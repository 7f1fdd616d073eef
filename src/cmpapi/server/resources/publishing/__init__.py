"""Publishing tag: webhook publishing channels, publishing events and their metadata."""
