"""Rules of the SMS verification codes that the reference platform issues and the load tests
must beat."""

from __future__ import annotations

# How long a code stays valid: 5 minutes, the common practice of Chinese SMS-code logins
# (estimate: the National Smart Education Platform does not publish its figure). The reference
# platform's default (reference.settings) and the load tests' stretched lifetime under a
# compressed clock (loadtests.target) both start from it.
CODE_TTL_S = 300.0
