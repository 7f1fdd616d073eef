"""Workflows (tag "Workflows"): reusable step/sub-step definitions tasks are made from."""
