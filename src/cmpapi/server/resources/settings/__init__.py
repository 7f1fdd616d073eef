"""Settings (tag "Settings"): export and import of an organization's configuration."""
