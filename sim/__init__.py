"""The campaign model: scenario files, the simulated teachers, the platform tiers, sizing (docs/model.md)."""

from sim import native as _native

_native.install()
