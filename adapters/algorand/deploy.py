"""Create the Algorand assets stbridge works with: the regulated ASA and stablecoin ASAs.

Used by the tests and the demo, and usable against a real algod. Every asset gets ARC-3
metadata (stored content-addressed in a :class:`~adapters.algorand.arc3.ContentStore`, its
url ``ipfs://<cid>#arc3``, its SHA-256 in the asset's ``metadata_hash``).

:func:`deploy_regulated_asa` follows the sequence of specs/regulated-asa.md §1.2: create
the compliance application, fund its account, create the default-frozen ASA whose freeze
and clawback are the application, ``bind`` it, set the rules.
:func:`deploy_stablecoin` creates a plain ASA whose issuer keeps every role.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from algosdk import transaction

from adapters.algorand import arc3
from adapters.algorand.chain import AlgodChain, check_amount
from adapters.algorand.regulated import RegulatedAsaAdapter, app_address, encode_arg
from adapters.algorand.regulated_abi import GLOBAL_BYTES, GLOBAL_INTS, encode_countries
from adapters.algorand.signer import AlgorandSigner
from adapters.algorand.teal import approval_program, clear_program
from bridge.errors import InvalidInput, TransactionReverted
from bridge.model import CashTerms, Identifier, InstrumentTerms

__all__ = [
    "DEFAULT_APP_FUNDING",
    "Deployed",
    "create_asa",
    "deploy_regulated_asa",
    "deploy_stablecoin",
]

DEFAULT_APP_FUNDING = 2_000_000
"""MicroAlgos paid to the application account: its minimum balance plus ~70 boxes."""


@dataclass(frozen=True, slots=True)
class Deployed:
    """What a deployment created: the asset, its app (if any), and its metadata."""

    asset_id: int
    app_id: int | None
    metadata_url: str
    metadata_hash: bytes
    metadata: bytes


def _send(chain: AlgodChain, signer: AlgorandSigner, txn: object) -> dict[str, object]:
    (signed,) = signer.sign_many([txn])
    (tx_id,) = chain.submit_group([signed])
    chain.wait(tx_id)
    return chain.pending_info(tx_id)


def create_asa(
    chain: AlgodChain,
    issuer: AlgorandSigner,
    *,
    total: int,
    decimals: int,
    unit_name: str,
    name: str,
    url: str,
    metadata_hash: bytes,
    default_frozen: bool,
    manager: str | None,
    reserve: str | None,
    freeze: str | None,
    clawback: str | None,
) -> int:
    """Create an ASA (``acfg``) signed by ``issuer``; return its id."""
    check_amount(total, "total")
    if not 0 <= decimals <= 19:
        raise InvalidInput("decimals", "an ASA has 0 to 19 decimals", value=decimals)
    if len(unit_name.encode()) > 8 or len(name.encode()) > 32:
        raise InvalidInput("unit_name/name", "at most 8 and 32 bytes", value=(unit_name, name))
    txn = transaction.AssetCreateTxn(  # type: ignore[no-untyped-call]
        issuer.address,
        chain.suggested_params(),
        total,
        decimals,
        default_frozen,
        unit_name=unit_name,
        asset_name=name,
        manager=manager,
        reserve=reserve,
        freeze=freeze,
        clawback=clawback,
        url=url,
        metadata_hash=metadata_hash,
    )
    info = _send(chain, issuer, txn)
    asset_id = info.get("asset-index")
    if not isinstance(asset_id, int):
        raise TransactionReverted("asset creation confirmed without an asset id")
    return asset_id


def _metadata(store: arc3.ContentStore, metadata: dict[str, object]) -> tuple[str, bytes, bytes]:
    document = arc3.canonical_json(metadata)
    url = arc3.url_for(store.put(document))
    return url, arc3.metadata_hash(document), document


def deploy_stablecoin(
    chain: AlgodChain,
    issuer: AlgorandSigner,
    *,
    currency: str,
    store: arc3.ContentStore,
    total: int = 10**15,
    decimals: int = 2,
    name: str | None = None,
    unit_name: str | None = None,
    issuer_name: str | None = None,
) -> Deployed:
    """A stablecoin ASA (cash leg): not default-frozen; the issuer is manager, reserve,
    freeze and clawback; ARC-3 metadata carries ``CashTerms``."""
    title = name or f"{currency} Stablecoin"
    meta = arc3.build_metadata(
        name=title,
        decimals=decimals,
        description=f"Payment token redeemable 1:1 in {currency}",
        terms=CashTerms(currency=currency, issuer_name=issuer_name),
    )
    url, digest, document = _metadata(store, meta)
    asset_id = create_asa(
        chain,
        issuer,
        total=total,
        decimals=decimals,
        unit_name=unit_name or f"{currency}C",
        name=title,
        url=url,
        metadata_hash=digest,
        default_frozen=False,
        manager=issuer.address,
        reserve=issuer.address,
        freeze=issuer.address,
        clawback=issuer.address,
    )
    return Deployed(asset_id, None, url, digest, document)


def deploy_regulated_asa(
    chain: AlgodChain,
    issuer: AlgorandSigner,
    *,
    name: str,
    unit_name: str,
    total: int,
    decimals: int,
    store: arc3.ContentStore,
    terms: InstrumentTerms | None = None,
    identifiers: tuple[Identifier, ...] = (),
    home_jurisdiction: str | None = None,
    description: str | None = None,
    max_holders: int = 0,
    max_balance: int = 0,
    countries: Sequence[str] = (),
    app_funding: int = DEFAULT_APP_FUNDING,
) -> Deployed:
    """The regulated ASA: compliance app + default-frozen ASA + metadata + bind + rules.

    ``issuer`` becomes the app's admin and the asset's manager and reserve.
    """
    sp = chain.suggested_params()
    create = transaction.ApplicationCreateTxn(  # type: ignore[no-untyped-call]
        issuer.address,
        sp,
        transaction.OnComplete.NoOpOC,
        approval_program(),
        clear_program(),
        transaction.StateSchema(GLOBAL_INTS, GLOBAL_BYTES),  # type: ignore[no-untyped-call]
        transaction.StateSchema(0, 0),  # type: ignore[no-untyped-call]
    )
    app_id = _send(chain, issuer, create).get("application-index")
    if not isinstance(app_id, int):
        raise TransactionReverted("application creation confirmed without an app id")
    pay = transaction.PaymentTxn(
        issuer.address, chain.suggested_params(), app_address(app_id), app_funding
    )  # type: ignore[no-untyped-call]
    _send(chain, issuer, pay)
    meta = arc3.build_metadata(
        name=name,
        decimals=decimals,
        description=description,
        terms=terms,
        identifiers=identifiers,
        home_jurisdiction=home_jurisdiction,
        app_id=app_id,
    )
    url, digest, document = _metadata(store, meta)
    controller = app_address(app_id)
    asset_id = create_asa(
        chain,
        issuer,
        total=total,
        decimals=decimals,
        unit_name=unit_name,
        name=name,
        url=url,
        metadata_hash=digest,
        default_frozen=True,
        manager=issuer.address,
        reserve=issuer.address,
        freeze=controller,
        clawback=controller,
    )
    adapter = RegulatedAsaAdapter(chain)
    adapter.call(
        app_id, "bind", [encode_arg("uint64", asset_id, "asset_id")], issuer, asset_id=asset_id
    )
    if max_holders or max_balance or countries:
        adapter.call(
            app_id,
            "set_rules",
            [
                encode_arg("uint64", max_holders, "max_holders"),
                encode_arg("uint64", max_balance, "max_balance"),
                encode_arg("byte[]", encode_countries(countries), "countries"),
            ],
            issuer,
        )
    return Deployed(asset_id, app_id, url, digest, document)
