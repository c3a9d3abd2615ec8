"""Calibration: measure a platform under open-workload steps, fit each endpoint's service
demand per tier by the utilisation law, find the knee, write a platform file (docs/calibration.md)."""
