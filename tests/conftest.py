"""Suite-wide set-up: hypothesis profiles and the shared chain fixtures.

Hypothesis profiles (pick with STBRIDGE_HYPOTHESIS_PROFILE, default ``dev``):
- ``dev``: quick local runs;
- ``ci``: the budget ``make test`` uses (CI has 2 cores and 20 minutes);
- ``thorough``: deep runs on demand (``make test-thorough``).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "thorough",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("STBRIDGE_HYPOTHESIS_PROFILE", "dev"))

pytest_plugins = ["tests.fixtures.evm", "tests.fixtures.algorand", "tests.fixtures.postgres"]
