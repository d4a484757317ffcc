"""Shared fixtures. The real-parts fixtures live in tests/realparts.py; importing them
here registers them once, so every module shares one moto server and one PostgreSQL
per session (per xdist worker)."""

from realparts import moto_s3, realparts, seeded_lineage  # noqa: F401  (pytest fixtures)
