"""Scheduled work: APScheduler wiring and the sweeps it ticks."""
