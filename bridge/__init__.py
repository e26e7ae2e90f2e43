"""stbridge core: canonical model, reason codes, errors, ports, compliance, HTLC primitives.

``bridge`` imports nothing from ``adapters`` or ``relayer``; they build on it.
"""

__version__ = "0.1.0"
