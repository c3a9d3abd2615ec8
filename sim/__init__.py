"""The campaign model: the simulated teachers, the platform tiers, sizing (docs/model.md).

Importing the package changes nothing else: the compiled hot modules (``sim.native``) are
switched on by the entry points that run the model (``yanxiu run``, the replication workers,
the bench scripts) calling ``sim.native.install()`` before the model is imported.
"""
