"""``inspect_algorand``: read one Algorand asset into the canonical model (the CLI's engine).

``algod`` is either a URL of an algod REST API (``http(s)://host:port``, with an optional
token) or ``"embedded"``: a fresh embedded ledger on the go-algorand evaluator with the
demo assets deployed (:func:`adapters.algorand.demo.deploy_demo`: the regulated bond and
the USD and JPY stablecoins, at fixed ids listed in :data:`adapters.algorand.demo.DEMO_IDS`).

Errors are ``bridge.errors``: a bad asset id, standard or url is ``InvalidInput``; an asset
that does not exist is ``NotFound``; an algod that does not answer is ``ChainUnavailable``;
an asset that is not of the standard asked for is ``WrongStandard``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from algosdk.v2client.algod import AlgodClient

from adapters.algorand import arc3
from adapters.algorand.asa import AsaAdapter
from adapters.algorand.chain import AlgodChain, check_asset_id
from adapters.algorand.regulated import RegulatedAsaAdapter
from adapters.base import InspectResult, Progress
from bridge.errors import InvalidInput, NotFound, WrongStandard
from bridge.model import Holding

__all__ = ["STANDARDS", "SchemeResolver", "inspect_algorand"]

STANDARDS = {
    "auto": None,
    "asa": "asa",
    "regulated-asa": "regulated",
    "regulated_asa": "regulated",
}
"""Accepted ``standard`` values."""


class SchemeResolver:
    """Metadata by url scheme: ``ipfs://`` from a content store, ``http(s)://`` over HTTP."""

    def __init__(
        self, store: arc3.ContentStore | None = None, http: arc3.HttpResolver | None = None
    ) -> None:
        self.store = store
        self.http = http

    def fetch(self, url: str) -> bytes:
        """The document at ``url``; ``NotFound`` when no resolver serves its scheme."""
        scheme = urlparse(url).scheme
        if scheme == "ipfs" and self.store is not None:
            return self.store.fetch(url)
        if scheme in ("http", "https") and self.http is not None:
            return self.http.fetch(url)
        raise NotFound(f"no resolver for metadata url {url}")


def _connect(algod: str, token: str) -> tuple[Any, SchemeResolver]:
    if algod == "embedded":
        from adapters.algorand.demo import deploy_demo

        store = arc3.ContentStore(Path(tempfile.mkdtemp(prefix="stbridge-arc3-")))
        client = deploy_demo(store)
        return client, SchemeResolver(store=store)
    parsed = urlparse(algod)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidInput("algod", "must be 'embedded' or an http(s):// URL", value=algod)
    return AlgodClient(token, algod), SchemeResolver(http=arc3.HttpResolver())


def inspect_algorand(
    *,
    algod: str,
    asset_id: int,
    standard: str = "auto",
    holders: bool = False,
    progress: Progress | None = None,
    token: str = "",
    metadata: arc3.MetadataResolver | None = None,
) -> InspectResult:
    """Read asset ``asset_id`` (and, with ``holders``, its holders) from ``algod``."""
    check_asset_id(asset_id)
    if standard not in STANDARDS:
        raise InvalidInput("standard", f"one of {', '.join(STANDARDS)}", value=standard)
    client, resolver = _connect(algod, token)
    chain = AlgodChain(client)
    meta = metadata or resolver
    chain.asset_params(asset_id)  # NotFound / ChainUnavailable before anything else
    wanted = STANDARDS[standard]
    regulated = RegulatedAsaAdapter(chain, metadata=meta)
    adapter: AsaAdapter
    if wanted == "regulated":
        regulated.app_id_of(asset_id)  # WrongStandard if it is not one
        adapter = regulated
    elif wanted == "asa":
        adapter = AsaAdapter(chain, metadata=meta)
    else:
        try:
            regulated.app_id_of(asset_id)
            adapter = regulated
        except WrongStandard:
            adapter = AsaAdapter(chain, metadata=meta)
    app_id = regulated.app_id_of(asset_id) if adapter is regulated else None
    ref = adapter.ref(asset_id, app_id)
    asset = adapter.read_asset(ref)
    found: list[Holding] = []
    if holders:
        found = list(adapter.holders(ref))
        if progress is not None:
            progress(len(found), len(found))
    return InspectResult(asset=asset, holdings=tuple(found), stats={"algod_calls": chain.calls})
