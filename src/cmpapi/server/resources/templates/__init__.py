"""Templates (tag "Templates"): forms that work requests (and briefs) are filled from."""
