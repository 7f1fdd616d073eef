"""Campaigns (tag "Campaigns"): dated marketing initiatives that tasks, milestones,
calendar events and (through their tasks) library assets belong to."""
