"""Fitting the teachers' behaviour to public figures (``yanxiu fit``) and propagating the
fitted uncertainty into a run's peaks (``yanxiu run --ranges``). See docs/fit.md."""
