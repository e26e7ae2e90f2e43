"""API clients bound to wallets: a platform's client may order and see only its own trades.

The operator's token (``[api] token_env``) may do everything. Each ``[[api.clients]]`` entry
is one client of the platform with its own bearer token and the wallets it is bound to::

    [[api.clients]]
    name = "tokyo-office-seller"
    token_env = "STBRIDGE_TOKEN_SELLER"     # its bearer token is read from this variable
    wallets = ["0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1"]

A bound client may submit an order only if every leg that this relayer would spend from
(the leg's sender is a wallet whose key the relayer holds) is one of its wallets: it cannot
order a trade spending another client's wallet. It may see (get, audit, cancel, list) only
swaps where one of its wallets is a leg's sender or receiver. Anything else is a 403 problem
naming the wallet. The actor defended against: a hostile client of the same platform
(``tests/integration/test_api_clients.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import HTTPException
from pydantic import BaseModel, ConfigDict, Field

from bridge.errors import ConfigError
from bridge.swap import SwapTerms

if TYPE_CHECKING:
    from relayer.service import RelayerService, SwapOrder

__all__ = [
    "OPERATOR",
    "ApiClient",
    "ApiClientSettings",
    "forbidden",
    "load_clients",
    "spending_senders",
]


class ApiClientSettings(BaseModel):
    """One ``[[api.clients]]`` entry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    token_env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]*$")
    wallets: tuple[str, ...] = Field(min_length=1)


@dataclass(frozen=True)
class ApiClient:
    """Who is calling: the operator (``wallets`` None: every wallet) or a bound client."""

    name: str
    wallets: frozenset[str] | None = None

    def may_spend(self, senders: Iterable[str]) -> str | None:
        """The first of ``senders`` this client may not spend from (None: all allowed)."""
        if self.wallets is None:
            return None
        for sender in senders:
            if sender not in self.wallets:
                return sender
        return None

    def may_see(self, terms: SwapTerms) -> bool:
        """Whether one of the client's wallets is a party to a leg of ``terms``."""
        if self.wallets is None:
            return True
        parties = {
            terms.initiator_leg.sender,
            terms.initiator_leg.receiver,
            terms.participant_leg.sender,
            terms.participant_leg.receiver,
        }
        return bool(parties & self.wallets)


OPERATOR = ApiClient(name="operator")


def spending_senders(service: RelayerService, order: SwapOrder) -> list[str]:
    """The senders of ``order``'s legs whose keys this relayer holds (what it would spend)."""
    held: set[str] = set()
    for runtime in service.chains.values():
        held.update(runtime.signers)
    return [leg.sender for leg in (order.security, order.cash) if leg.sender in held]


def forbidden(client: ApiClient, detail: str) -> HTTPException:
    """The 403 for a bound client reaching past its wallets."""
    return HTTPException(status_code=403, detail=f"API client {client.name!r}: {detail}")


def load_clients(entries: Iterable[ApiClientSettings]) -> list[tuple[str, ApiClient]]:
    """Each client's token (from its variable) with the client; ``ConfigError`` names the
    variable when it is unset or short, or two clients share a token."""
    out: list[tuple[str, ApiClient]] = []
    for entry in entries:
        token = os.environ.get(entry.token_env, "")
        if len(token) < 16:
            raise ConfigError(
                f"api.clients.{entry.name}.token_env: {entry.token_env} must hold a token of at "
                "least 16 characters"
            )
        if any(token == t for t, _ in out):
            raise ConfigError(f"api.clients.{entry.name}.token_env: the same token as another")
        out.append((token, ApiClient(name=entry.name, wallets=frozenset(entry.wallets))))
    return out
