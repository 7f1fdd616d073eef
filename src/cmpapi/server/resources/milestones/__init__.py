"""Milestones (tag "Milestones"): dated markers of an organization that tasks belong to."""
