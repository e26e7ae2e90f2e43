"""The demo world on a fresh embedded ledger: a regulated bond and two stablecoins.

``deploy_demo`` builds, on a new :class:`~adapters.algorand.ledger.EmbeddedLedger`:

- the Tokyo Green Bond 2031 as a regulated ASA (countries JP, SG, US; investors alice
  (JP, 1 000 units) and bob (SG, 500 units));
- a USD and a JPY stablecoin ASA held by their issuer.

The sequence of transactions is fixed, so the ids are too (:data:`DEMO_IDS`). Keys are
fresh random ones and stay in memory.
"""

from __future__ import annotations

from typing import Final

from adapters.algorand import arc3
from adapters.algorand.algod import EmbeddedAlgodClient
from adapters.algorand.chain import AlgodChain
from adapters.algorand.deploy import deploy_regulated_asa, deploy_stablecoin
from adapters.algorand.ledger import EmbeddedLedger
from adapters.algorand.regulated import RegulatedAsaAdapter
from adapters.algorand.signer import AlgorandSigner
from bridge.model import BondTerms, Capability, Identifier, InvestorClass

__all__ = ["DEMO_IDS", "deploy_demo"]

DEMO_IDS: Final = {"bond_app": 1004, "bond": 1006, "usd": 1009, "jpy": 1010}
"""Ids of the demo assets on a fresh embedded ledger."""

_YEAR = 365 * 86_400


def deploy_demo(store: arc3.ContentStore) -> EmbeddedAlgodClient:
    """A fresh embedded ledger with the demo assets; returns its algod client."""
    ledger = EmbeddedLedger()
    client = EmbeddedAlgodClient(ledger, wait_timeout=0.0)
    chain = AlgodChain(client)
    issuer, alice, bob = (AlgorandSigner.generate() for _ in range(3))
    for signer in (issuer, alice, bob):
        ledger.fund(signer.address, 10_000_000)
    bond = deploy_regulated_asa(
        chain,
        issuer,
        name="Tokyo Green Bond 2031",
        unit_name="TGB31",
        total=1_000_000,
        decimals=0,
        store=store,
        terms=BondTerms(currency="JPY", face_value=1_000_000, coupon_rate_ppm=15_000),
        identifiers=(Identifier(kind="isin", value="JP3633400001"),),
        home_jurisdiction="JP",
        countries=("JP", "SG", "US"),
        max_holders=100,
    )
    usd = deploy_stablecoin(chain, issuer, currency="USD", store=store)
    jpy = deploy_stablecoin(chain, issuer, currency="JPY", decimals=0, store=store)
    adapter = RegulatedAsaAdapter(chain, metadata=store)
    assert bond.app_id is not None
    ref = adapter.ref(bond.asset_id, bond.app_id)
    now = chain.now()
    for signer, country, amount in ((alice, "JP", 1_000), (bob, "SG", 500)):
        adapter.opt_in(ref, signer)
        adapter.agent_operation(
            ref,
            Capability.WHITELIST,
            issuer,
            holder=signer.address,
            country=country,
            investor_class=InvestorClass.PROFESSIONAL,
            kyc_expiry=now + _YEAR,
        )
        adapter.agent_operation(
            ref, Capability.MINT, issuer, recipient=signer.address, amount=amount
        )
    ids = {"bond_app": bond.app_id, "bond": bond.asset_id, "usd": usd.asset_id, "jpy": jpy.asset_id}
    if ids != DEMO_IDS:  # the sequence above fixes them; a change here must update DEMO_IDS
        raise RuntimeError(f"demo ids moved: {ids}")
    return client
