"""Work requests (tag "Work Requests"): requests for work, filled in from a template."""
