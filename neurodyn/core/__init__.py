"""Shared machinery: configs, the step loop, seeding, the experiment registry, background jobs."""
