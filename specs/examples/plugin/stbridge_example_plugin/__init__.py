"""An example third-party adapter: euro e-money tokens as their own standard, ``euro_emt``.

An e-money token (MiCA's EMT) in euro is, on chain, an ERC-20 whose ``currency()`` is
``"EUR"``; platforms want it told apart from other cash (a different licence, redemption
rights, reporting). This package adds the standard without editing stbridge:

- ``SPEC`` names a standard ``bridge`` does not know (``"euro_emt"``): the registry admits
  it (``bridge.model.Standard.extend``) when the entry point loads;
- the adapter reuses stbridge's ERC-20 adapter and only says which standard it reads as;
- ``probe`` answers for ERC-20 tokens whose ``currency()`` is ``"EUR"``, and its priority
  puts it before the generic ERC-20 adapter, so ``--standard auto`` finds it.
"""

from __future__ import annotations

from typing import Any

from adapters.evm.client import EvmClient
from adapters.evm.erc20 import Erc20Adapter
from bridge.errors import BridgeError
from bridge.model import Standard
from bridge.registry import AdapterSpec

__all__ = ["SPEC", "EuroEmtAdapter", "probe"]

EURO_EMT = Standard.extend("euro_emt")


class EuroEmtAdapter(Erc20Adapter):
    """A euro e-money token: stbridge's ERC-20 reading, under its own standard."""

    standard: Standard = EURO_EMT


def probe(client: Any, locator: Any, /) -> bool:
    """True when ``locator`` is an ERC-20 token whose ``currency()`` is ``"EUR"``."""
    if not isinstance(client, EvmClient) or not isinstance(locator, str):
        return False
    try:
        adapter = EuroEmtAdapter(client)
        contract = adapter.require_token(adapter.evm_address(locator, "address"))
        currency = adapter.read(contract.functions.currency())
    except BridgeError as exc:
        if exc.transient:
            raise
        return False
    return str(currency) == "EUR"


SPEC = AdapterSpec(
    standard=EURO_EMT,
    family="evm",
    capabilities=EuroEmtAdapter.capabilities,
    factory=EuroEmtAdapter,
    probe=probe,
    summary="Euro e-money token (example plug-in: an ERC-20 whose currency() is EUR)",
    priority=50,
)
