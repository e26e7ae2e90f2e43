"""Adapter for plain Algorand Standard Assets (``Standard.ASA``): stablecoins and the like.

The cash leg of a trade on Algorand: a USD or JPY stablecoin as an ASA whose issuer holds
the freeze and clawback roles. What the protocol itself enforces is all there is to check:

- a non-zero transfer needs the sender opted in, not frozen, with enough units, and the
  receiver opted in and not frozen (go-algorand ``ledger/apply/asset.go``, in that order);
- a zero transfer always passes (the evaluator returns before looking at holdings);
- a clawback (sent by the clawback address with ``AssetSender``) ignores freezes on both
  sides but still needs both holdings.

Agent operations map onto the ASA roles: freeze (``afrz`` by the freeze address), forced
transfer (clawback), mint (a transfer out of the reserve, signed by it), burn (clawback
back into the reserve), opt-in (a 0-amount self-transfer). An operation whose role
address is cleared on this asset raises ``UnsupportedCapability``.

Terms come from ARC-3 metadata (:mod:`adapters.algorand.arc3`), verified against the
asset's ``metadata_hash`` before use; a mismatch is refused, never silently used.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from algosdk import transaction

from adapters.algorand import arc3
from adapters.algorand.addresses import checked_address
from adapters.algorand.chain import AlgodChain, AssetHolding, check_amount, check_asset_id
from adapters.algorand.signer import AlgorandSigner
from bridge.errors import (
    InvalidInput,
    NotFound,
    TransactionReverted,
    UnsupportedCapability,
    WrongStandard,
)
from bridge.model import (
    AlgorandAsaLocator,
    Asset,
    AssetRef,
    Capability,
    CashTerms,
    Document,
    Eligibility,
    Holding,
    Refusal,
    RoleAssignment,
    Standard,
    SupplyCapRule,
    TransferCheck,
    TransferIntent,
)
from bridge.ports import Signer, TxReceipt
from bridge.reasons import ReasonCode, from_algorand
from bridge.registry import AdapterSpec

__all__ = ["SPEC", "AsaAdapter", "AsaInfo", "asa_refusal", "normalise_params"]

R = ReasonCode
ZERO_ADDRESS = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAY5HFKQ"
_MISSING = re.compile(r"missing from ([A-Z2-7]{58})")
_FROZEN_IN = re.compile(r"frozen in ([A-Z2-7]{58})")


def asa_refusal(message: str, *, sender: str, standard: Standard = Standard.ASA) -> Refusal:
    """Canonical refusal of an ASA transfer from the evaluator's message.

    The protocol says "asset N missing from ADDR" and "asset N frozen in ADDR" for both
    sides; the address tells which side it was.
    """
    code = from_algorand(message)
    missing = _MISSING.search(message)
    frozen = _FROZEN_IN.search(message)
    if missing:
        code = R.INSUFFICIENT_BALANCE if missing.group(1) == sender else R.RECIPIENT_NOT_OPTED_IN
    elif frozen:
        code = R.SENDER_FROZEN if frozen.group(1) == sender else R.RECIPIENT_FROZEN
    return Refusal(
        code=code,
        source_standard=standard,
        raw_message=message[:2000],
        detail=(message.splitlines()[0] if message else "rejected")[:300],
    )


_ALIASES = {"to": "recipient", "from": "sender", "address": "holder", "account": "holder"}


def normalise_params(params: Mapping[str, object]) -> dict[str, object]:
    """Agent-operation parameters with the names other adapters use mapped onto ours
    (``to`` -> ``recipient``, ``from`` -> ``sender``, ``address``/``account`` -> ``holder``)."""
    out: dict[str, object] = {}
    for key, value in params.items():
        name = _ALIASES.get(key, key)
        if name in out:
            raise InvalidInput(key, f"given twice (as {name} too)", value=value)
        out[name] = value
    return out


def _role(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    if not value or value == ZERO_ADDRESS:
        return None
    return str(value)


class AsaInfo:
    """An ASA's parameters as read from algod, with typed accessors."""

    def __init__(self, asset_id: int, params: Mapping[str, Any]) -> None:
        self.asset_id = asset_id
        self.params = dict(params)
        self.creator = str(params.get("creator", ""))
        self.total = int(params.get("total", 0))
        self.decimals = int(params.get("decimals", 0))
        self.default_frozen = bool(params.get("default-frozen", False))
        self.name = str(params.get("name", ""))
        self.unit_name = str(params.get("unit-name", ""))
        self.url = str(params.get("url", ""))
        raw_hash = params.get("metadata-hash")
        self.metadata_hash: bytes | None = base64.b64decode(raw_hash) if raw_hash else None
        self.manager = _role(params, "manager")
        self.reserve = _role(params, "reserve")
        self.freeze = _role(params, "freeze")
        self.clawback = _role(params, "clawback")


class AsaAdapter:
    """Token port for plain ASAs over any algod (real or embedded)."""

    standard: Standard = Standard.ASA
    capabilities: frozenset[Capability] = frozenset(
        {
            Capability.MINT,
            Capability.BURN,
            Capability.ADDRESS_FREEZE,
            Capability.FORCED_TRANSFER,
            Capability.CLAWBACK,
            Capability.OPT_IN,
        }
    )

    def __init__(self, chain: AlgodChain, *, metadata: arc3.MetadataResolver | None = None) -> None:
        self.chain = chain
        self.metadata = metadata

    # ------------------------------------------------------------------ helpers
    def _asset_id(self, ref: AssetRef) -> int:
        if not isinstance(ref.locator, AlgorandAsaLocator):
            raise WrongStandard(f"{self.standard.value}: {ref.locator.kind} is not an ASA locator")
        return check_asset_id(ref.locator.asset_id)

    def info(self, ref: AssetRef | int) -> AsaInfo:
        """The asset's parameters (``NotFound`` if it does not exist)."""
        asset_id = check_asset_id(ref) if isinstance(ref, int) else self._asset_id(ref)
        return AsaInfo(asset_id, self.chain.asset_params(asset_id))

    def ref(self, asset_id: int, app_id: int | None = None) -> AssetRef:
        """An ``AssetRef`` for ``asset_id`` on this chain."""
        return AssetRef(
            chain=self.chain.chain,
            locator=AlgorandAsaLocator(asset_id=check_asset_id(asset_id), app_id=app_id),
        )

    def read_metadata(self, info: AsaInfo) -> arc3.ParsedMetadata | None:
        """The asset's ARC-3 metadata, hash-verified; None when it has none or no resolver.

        Raises ``InvalidInput`` (field ``metadata``) when the fetched bytes do not hash to
        the asset's ``metadata_hash``: tampered metadata is never used.
        """
        if self.metadata is None or not arc3.is_arc3(info.name, info.url) or not info.url:
            return None
        url = arc3.resolve_url(info.url, info.asset_id)
        try:
            document = self.metadata.fetch(url)
        except NotFound:
            return None
        if info.metadata_hash is None or not arc3.verify(document, info.metadata_hash):
            raise InvalidInput(
                "metadata",
                f"ARC-3 metadata at {url} does not match asset {info.asset_id}'s metadata_hash",
            )
        return arc3.parse_metadata(document, asa_decimals=info.decimals)

    def _documents(self, info: AsaInfo) -> tuple[Document, ...]:
        if not info.url:
            return ()
        digest = info.metadata_hash.hex() if info.metadata_hash else None
        return (
            Document(
                name="arc3-metadata" if arc3.is_arc3(info.name, info.url) else "asset-url",
                uri=arc3.resolve_url(info.url, info.asset_id),
                hash=digest,
                hash_alg="sha256" if digest else None,
            ),
        )

    def _controls(self, info: AsaInfo) -> tuple[Capability, ...]:
        controls = {Capability.OPT_IN}
        if info.freeze:
            controls.add(Capability.ADDRESS_FREEZE)
        if info.clawback:
            controls |= {Capability.CLAWBACK, Capability.FORCED_TRANSFER}
            if info.reserve:
                controls.add(Capability.BURN)
        if info.reserve:
            controls.add(Capability.MINT)
        return tuple(controls)

    def _roles(self, info: AsaInfo) -> tuple[RoleAssignment, ...]:
        pairs = [
            ("creator", info.creator or None),
            ("manager", info.manager),
            ("reserve", info.reserve),
            ("freeze", info.freeze),
            ("clawback", info.clawback),
        ]
        return tuple(RoleAssignment(role=r, holder=h) for r, h in pairs if h)

    # ------------------------------------------------------------------ reads
    def read_asset(self, ref: AssetRef) -> Asset:
        """The canonical asset: parameters, roles, ARC-3 terms and documents."""
        info = self.info(ref)
        meta = self.read_metadata(info)
        terms = meta.terms if meta else None
        return Asset(
            rules=(SupplyCapRule(limit=info.total, source=f"asa:{info.asset_id}:total"),),
            chain=self.chain.chain,
            locator=AlgorandAsaLocator(asset_id=info.asset_id),
            standard=self.standard,
            asset_class="cash" if terms is None or isinstance(terms, CashTerms) else "security",
            name=info.name,
            symbol=info.unit_name,
            decimals=info.decimals,
            total_supply=self.circulating(info),
            home_jurisdiction=meta.home_jurisdiction if meta else None,
            identifiers=meta.identifiers if meta else (),
            issuer=info.creator or None,
            terms=terms,
            documents=self._documents(info),
            controls=self._controls(info),
            roles=self._roles(info),
            read_at_height=self.chain.head(),
        )

    def circulating(self, info: AsaInfo) -> int:
        """Units issued: ``total`` minus what the reserve still holds (ARC-62's reading)."""
        if info.reserve is None:
            return info.total
        return info.total - self.chain.holding(info.reserve, info.asset_id).amount

    def _holding(self, info: AsaInfo, holder: str) -> AssetHolding:
        return self.chain.holding(checked_address(holder, "holder"), info.asset_id)

    def holding(self, ref: AssetRef, holder: str) -> Holding:
        """``holder``'s position: the whole balance is frozen when the holding is frozen."""
        info = self.info(ref)
        held = self._holding(info, holder)
        frozen = held.amount if held.frozen else 0
        return Holding(
            holder=holder,
            balance=held.amount,
            free=held.amount - frozen,
            frozen=frozen,
            opted_in=held.opted_in,
        )

    def holders(self, ref: AssetRef, *, from_height: int = 0) -> Iterator[Holding]:
        """Every account other than the reserve with a non-zero holding, found by scanning
        blocks' asset transfers.

        Plain algod has no holder index (that is the indexer's job): this reads every block
        from ``from_height`` to the head and follows ``axfer`` receivers (inner ones too).
        Units in the reserve are unissued, so the holdings add up to ``total_supply``.
        """
        info = self.info(ref)
        seen: set[str] = {info.creator} if info.creator else set()
        for address in self.chain.asset_receivers(info.asset_id, from_height=from_height):
            seen.add(address)
        seen.discard(info.reserve or "")
        for address in sorted(seen):
            held = self._holding(info, address)
            if held.amount > 0:
                yield self.holding(ref, address)

    def eligibility(self, ref: AssetRef, wallet: str) -> Eligibility:
        """A plain ASA admits any opted-in, unfrozen account."""
        info = self.info(ref)
        held = self._holding(info, wallet)
        missing = []
        if not held.opted_in:
            missing.append("opt_in")
        elif held.frozen:
            missing.append("unfrozen_holding")
        return Eligibility(asset=ref, wallet=wallet, eligible=not missing, missing=tuple(missing))

    def check_transfer(self, intent: TransferIntent) -> TransferCheck:
        """Dry run from reads, in the protocol's own order (see the module docstring)."""
        info = self.info(intent.asset)
        sender = checked_address(intent.sender, "sender")
        receiver = checked_address(intent.recipient, "recipient")
        amount = check_amount(intent.amount)
        clawback = intent.operator is not None and intent.operator != sender
        if clawback and intent.operator != info.clawback:
            return self._refused(intent, R.OPERATOR_NOT_AUTHORIZED, "operator is not the clawback")
        if amount == 0:
            return TransferCheck(intent=intent, allowed=True)
        snd = self.chain.holding(sender, info.asset_id)
        if not snd.opted_in:
            return self._refused(intent, R.INSUFFICIENT_BALANCE, "sender holds no such asset")
        if snd.frozen and not clawback:
            return self._refused(intent, R.SENDER_FROZEN, "sender's holding is frozen")
        if snd.amount < amount:
            return self._refused(intent, R.INSUFFICIENT_BALANCE, f"sender holds {snd.amount}")
        rcv = self.chain.holding(receiver, info.asset_id)
        if not rcv.opted_in:
            return self._refused(intent, R.RECIPIENT_NOT_OPTED_IN, "receiver is not opted in")
        if rcv.frozen and not clawback:
            return self._refused(intent, R.RECIPIENT_FROZEN, "receiver's holding is frozen")
        return TransferCheck(intent=intent, allowed=True)

    def _refused(self, intent: TransferIntent, code: ReasonCode, detail: str) -> TransferCheck:
        refusal = Refusal(code=code, source_standard=self.standard, detail=detail)
        return TransferCheck(intent=intent, allowed=False, refusals=(refusal,))

    # ------------------------------------------------------------------ writes
    def _send(self, txns: list[Any], signer: Signer, *, sender: str) -> TxReceipt:
        if not isinstance(signer, AlgorandSigner):
            raise InvalidInput("signer", "an Algorand transaction needs an AlgorandSigner")
        if len(txns) > 1:
            transaction.assign_group_id(txns)  # type: ignore[no-untyped-call]
        signed = signer.sign_many(txns)
        try:
            tx_ids = self.chain.submit_group(signed)
            return self.chain.wait(tx_ids[0])
        except TransactionReverted as exc:
            message = exc.raw_message or str(exc)
            refusal = self.refusal_for(message, sender=sender)
            raise TransactionReverted(
                f"{self.standard.value}: {refusal.code.value}: {refusal.detail}",
                raw_message=message,
                tx_id=exc.tx_id,
                reason=refusal.code,
            ) from exc

    def refusal_for(self, message: str, *, sender: str) -> Refusal:
        """Canonical refusal for a rejection message of a transaction sent by this adapter."""
        return asa_refusal(message, sender=sender, standard=self.standard)

    def transfer(self, intent: TransferIntent, signer: Signer) -> TxReceipt:
        """Send the transfer (plain ``axfer`` signed by the sender, or a clawback by the
        operator when ``intent.operator`` is set)."""
        info = self.info(intent.asset)
        sender = checked_address(intent.sender, "sender")
        receiver = checked_address(intent.recipient, "recipient")
        amount = check_amount(intent.amount)
        operator = intent.operator if intent.operator is not None else sender
        if signer.address != operator:
            raise InvalidInput("signer", f"must sign for {operator}", value=signer.address)
        params = self.chain.suggested_params()
        txn = transaction.AssetTransferTxn(  # type: ignore[no-untyped-call]
            operator,
            params,
            receiver,
            amount,
            info.asset_id,
            revocation_target=None if operator == sender else sender,
        )
        return self._send([txn], signer, sender=sender)

    def opt_in(self, ref: AssetRef, signer: Signer) -> TxReceipt:
        """Opt the signer's account in to the asset (0-amount self-transfer)."""
        info = self.info(ref)
        params = self.chain.suggested_params()
        txn = transaction.AssetOptInTxn(signer.address, params, info.asset_id)  # type: ignore[no-untyped-call]
        return self._send([txn], signer, sender=signer.address)

    def agent_operation(
        self, ref: AssetRef, capability: Capability, signer: Signer, **params: object
    ) -> TxReceipt:
        """Run an agent operation through the ASA roles.

        - ``ADDRESS_FREEZE``: ``holder``, ``frozen`` (bool) — freeze address signs;
        - ``FORCED_TRANSFER`` / ``CLAWBACK``: ``sender``, ``recipient``, ``amount``
          (clawback signs);
        - ``MINT``: ``recipient``, ``amount`` — out of the reserve, reserve signs;
        - ``BURN``: ``holder``, ``amount`` — clawback back into the reserve;
        - ``OPT_IN``: the signer's own account.
        """
        if capability not in self.capabilities:
            raise UnsupportedCapability(self.standard.value, capability.value)
        params = normalise_params(params)
        info = self.info(ref)
        if capability not in self._controls(info):
            raise UnsupportedCapability(
                self.standard.value, f"{capability.value} (role address cleared on this asset)"
            )
        sp = self.chain.suggested_params()
        if capability is Capability.OPT_IN:
            return self.opt_in(ref, signer)
        if capability is Capability.ADDRESS_FREEZE:
            holder = checked_address(params.get("holder"), "holder")
            frozen = params.get("frozen", True)
            if not isinstance(frozen, bool):
                raise InvalidInput("frozen", "must be true or false", value=frozen)
            assert info.freeze is not None
            freeze = transaction.AssetFreezeTxn(info.freeze, sp, info.asset_id, holder, frozen)  # type: ignore[no-untyped-call]
            return self._send([freeze], signer, sender=holder)
        if capability in (Capability.FORCED_TRANSFER, Capability.CLAWBACK):
            source = checked_address(params.get("sender"), "sender")
            target = checked_address(params.get("recipient"), "recipient")
            return self._clawback(info, signer, source, target, params.get("amount"))
        if capability is Capability.MINT:
            target = checked_address(params.get("recipient"), "recipient")
            amount = check_amount(params.get("amount"))
            assert info.reserve is not None
            txn = transaction.AssetTransferTxn(info.reserve, sp, target, amount, info.asset_id)  # type: ignore[no-untyped-call]
            return self._send([txn], signer, sender=info.reserve)
        if capability is Capability.BURN:
            source = checked_address(params.get("holder"), "holder")
            assert info.reserve is not None
            return self._clawback(info, signer, source, info.reserve, params.get("amount"))
        raise UnsupportedCapability(self.standard.value, capability.value)

    def _clawback(
        self, info: AsaInfo, signer: Signer, source: str, target: str, amount: object
    ) -> TxReceipt:
        units = check_amount(amount)
        sp = self.chain.suggested_params()
        txn = transaction.AssetTransferTxn(  # type: ignore[no-untyped-call]
            info.clawback, sp, target, units, info.asset_id, revocation_target=source
        )
        return self._send([txn], signer, sender=source)

    @staticmethod
    def to_datetime(ts: int) -> datetime:
        """Unix seconds as an aware UTC datetime."""
        return datetime.fromtimestamp(ts, tz=UTC)


def _factory(client: Any, **kwargs: Any) -> AsaAdapter:
    chain = client if isinstance(client, AlgodChain) else AlgodChain(client)
    return AsaAdapter(chain, **kwargs)


def _probe(client: Any, asset_id: int, **_: Any) -> bool:
    chain = client if isinstance(client, AlgodChain) else AlgodChain(client)
    try:
        chain.asset_params(asset_id)
    except NotFound:
        return False
    return True


SPEC = AdapterSpec(
    standard=Standard.ASA,
    family="algorand",
    capabilities=AsaAdapter.capabilities,
    factory=_factory,
    probe=_probe,
    summary="Algorand Standard Asset (stablecoins; freeze/clawback by the issuer)",
    priority=200,
)
"""Registry entry (entry point ``asa``)."""
