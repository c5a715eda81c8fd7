"""Measures of the month: credited deals, targets in force, attainment and its roll-ups, pipeline health, satisfaction."""
