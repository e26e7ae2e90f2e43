"""Adapter for the stbridge regulated ASA (``Standard.REGULATED_ASA``; specs/regulated-asa.md).

A default-frozen ASA whose freeze and clawback roles belong to the compliance application
(``adapters/algorand/teal``). Reads come from the asset, the application's global state,
its whitelist boxes and the ARC-3 metadata; every movement is an ARC-4 call to the
application, which checks the rules and moves units with an inner clawback transfer.

The dry run (:meth:`RegulatedAsaAdapter.check_transfer`) evaluates the program's check
order (:func:`adapters.algorand.regulated_abi.predict_transfer`) on the values it reads,
so its verdict and reason are the ones the application gives when the call is sent at
the same chain time. A rejection of a sent call is decoded from the program counter of
the ``err`` that stopped it.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from algosdk import logic, transaction

from adapters.algorand import arc3
from adapters.algorand.addresses import address_from_key, checked_address, key_from_address
from adapters.algorand.asa import AsaAdapter, AsaInfo, normalise_params
from adapters.algorand.chain import AlgodChain, check_amount, check_asset_id
from adapters.algorand.regulated_abi import (
    BOX_PREFIX,
    ERROR_REASONS,
    INVESTOR_CLASS_CODES,
    AppState,
    PartyView,
    WhitelistEntry,
    box_key,
    encode_countries,
    predict_transfer,
    refusal_from_rejection,
    selector,
)
from bridge.errors import InvalidInput, NotFound, UnsupportedCapability, WrongStandard
from bridge.model import (
    AgentOperationCheck,
    AlgorandAsaLocator,
    AllowListRule,
    Asset,
    AssetRef,
    Capability,
    Claim,
    ClaimType,
    Classification,
    CountryAllowRule,
    Eligibility,
    Holding,
    IdentitySource,
    Investor,
    InvestorClass,
    LockupRule,
    MaxBalanceRule,
    MaxHoldersRule,
    Refusal,
    RequiredClaimsRule,
    RoleAssignment,
    Rule,
    Standard,
    TransferCheck,
    TransferIntent,
)
from bridge.ports import Signer, TxReceipt
from bridge.reasons import ReasonCode
from bridge.registry import AdapterSpec

__all__ = ["SPEC", "RegulatedAsaAdapter", "app_address", "encode_arg"]

R = ReasonCode


def app_address(app_id: int) -> str:
    """The account address of application ``app_id``."""
    return str(logic.get_application_address(app_id))


def encode_arg(kind: str, value: object, field: str) -> bytes:
    """ARC-4 encoding of one argument (the types this application's methods use)."""
    if kind == "address":
        return key_from_address(value, field)
    if kind == "uint64":
        return struct.pack(">Q", check_amount(value, field))
    if kind == "uint8":
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 255:
            raise InvalidInput(field, "must be an integer 0..255", value=value)
        return bytes([value])
    if kind == "bool":
        if not isinstance(value, bool):
            raise InvalidInput(field, "must be true or false", value=value)
        return b"\x80" if value else b"\x00"
    if kind == "byte[]":
        if not isinstance(value, bytes) or len(value) > 0xFFFF:
            raise InvalidInput(field, "must be at most 65535 bytes", value=value)
        return struct.pack(">H", len(value)) + value
    raise InvalidInput(field, f"unknown ARC-4 type {kind}")


def _timestamp(value: object, field: str) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidInput(field, "a datetime must carry a time zone", value=value)
        return max(0, int(value.timestamp()))
    return check_amount(value, field)


def _class_code(value: object) -> int:
    try:
        wanted = InvestorClass(str(value))
    except ValueError:
        raise InvalidInput("investor_class", "not an investor class", value=value) from None
    for code, klass in INVESTOR_CLASS_CODES.items():
        if klass is wanted:
            return code
    raise InvalidInput("investor_class", "has no code in the regulated ASA", value=value)


class RegulatedAsaAdapter(AsaAdapter):
    """Token port for the stbridge regulated ASA over any algod (real or embedded)."""

    standard: Standard = Standard.REGULATED_ASA
    capabilities: frozenset[Capability] = frozenset(
        {
            Capability.MINT,
            Capability.BURN,
            Capability.PAUSE,
            Capability.ADDRESS_FREEZE,
            Capability.FORCED_TRANSFER,
            Capability.CLAWBACK,
            Capability.WHITELIST,
            Capability.OPT_IN,
        }
    )

    def __init__(self, chain: AlgodChain, *, metadata: arc3.MetadataResolver | None = None) -> None:
        super().__init__(chain, metadata=metadata)

    # ------------------------------------------------------------------ binding
    def app_id_of(self, ref: AssetRef | int, info: AsaInfo | None = None) -> int:
        """The compliance app of the asset: the locator's ``app_id``, else the ARC-3
        ``properties.arc-20.application-id``; checked against the asset's roles."""
        info = info or self.info(ref)
        app_id: int | None = None
        if isinstance(ref, AssetRef) and isinstance(ref.locator, AlgorandAsaLocator):
            app_id = ref.locator.app_id
        if app_id is None:
            meta = self.read_metadata(info)
            app_id = meta.app_id if meta else None
        if app_id is None:
            raise WrongStandard(
                f"asset {info.asset_id}: no compliance application id (locator app_id or "
                "ARC-3 properties.arc-20.application-id)"
            )
        check_asset_id(app_id, "app_id")
        address = app_address(app_id)
        if not info.default_frozen or info.clawback != address or info.freeze != address:
            raise WrongStandard(
                f"asset {info.asset_id} is not a regulated ASA of application {app_id}: it must "
                "be default-frozen with freeze and clawback held by the application"
            )
        return app_id

    def app_state(self, app_id: int) -> AppState:
        """The application's decoded global state."""
        params = self.chain.app_params(app_id)
        return AppState.from_algod(params.get("global-state", []))

    def entry(self, app_id: int, address: str) -> WhitelistEntry | None:
        """``address``'s whitelist entry, or None when it is not whitelisted."""
        value = self.chain.box(app_id, box_key(checked_address(address, "holder")))
        return None if value is None else WhitelistEntry.decode(value)

    def whitelist(self, app_id: int) -> dict[str, WhitelistEntry]:
        """Every whitelisted address and its entry."""
        out: dict[str, WhitelistEntry] = {}
        for name in self.chain.box_names(app_id):
            if name.startswith(BOX_PREFIX) and len(name) == len(BOX_PREFIX) + 32:
                address = address_from_key(name[len(BOX_PREFIX) :])
                value = self.chain.box(app_id, name)
                if value is not None:
                    out[address] = WhitelistEntry.decode(value)
        return out

    def _context(self, ref: AssetRef) -> tuple[AsaInfo, int, AppState]:
        info = self.info(ref)
        app_id = self.app_id_of(ref, info)
        state = self.app_state(app_id)
        if state.asset_id not in (0, info.asset_id):
            raise WrongStandard(f"application {app_id} is bound to asset {state.asset_id}")
        return info, app_id, state

    # ------------------------------------------------------------------ reads
    def read_asset(self, ref: AssetRef) -> Asset:
        """The canonical asset with the application's rules, pause flag and roles."""
        base = super().read_asset(ref)
        info, app_id, state = self._context(ref)
        source = f"algorand-app:{app_id}"
        now = self.chain.now()
        listed = self.whitelist(app_id)
        rules: list[Rule] = [
            *base.rules,
            AllowListRule(addresses=tuple(sorted(listed)), source=source),
            RequiredClaimsRule(claim_types=(ClaimType.KYC,), parties="both", source=source),
        ]
        if state.countries:
            rules.append(CountryAllowRule(countries=state.countries, source=source))
        if state.max_holders:
            rules.append(MaxHoldersRule(limit=state.max_holders, source=source))
        if state.max_balance:
            rules.append(
                MaxBalanceRule(
                    limit=state.max_balance,
                    per="wallet",
                    self_transfers="exempt",
                    source=source,
                )
            )
        for address, item in sorted(listed.items()):
            if item.locked(now):
                until = datetime.fromtimestamp(item.lockup_end, tz=UTC)
                rules.append(LockupRule(until=until, holder=address, source=source))
        roles = (*base.roles, *self._app_roles(state, app_id))
        return Asset(
            **{
                **dict(base),
                "locator": AlgorandAsaLocator(asset_id=info.asset_id, app_id=app_id),
                "standard": self.standard,
                "paused": state.paused,
                "active": state.asset_id == info.asset_id,
                "rules": tuple(rules),
                "controls": self._regulated_controls(info),
                "roles": roles,
            }
        )

    def _app_roles(self, state: AppState, app_id: int) -> tuple[RoleAssignment, ...]:
        return (
            RoleAssignment(role="admin", holder=state.admin),
            RoleAssignment(role="compliance_app", holder=app_address(app_id)),
        )

    def _regulated_controls(self, info: AsaInfo) -> tuple[Capability, ...]:
        controls = set(self.capabilities)
        if not info.reserve:
            controls -= {Capability.MINT, Capability.BURN}
        return tuple(controls)

    def holding(self, ref: AssetRef, holder: str) -> Holding:
        """Balance from the ASA; all of it frozen when the whitelist entry's flag is set.

        (ASA-level frozen flags are always set on this standard and mean nothing.)
        """
        info, app_id, _ = self._context(ref)
        held = self.chain.holding(checked_address(holder, "holder"), info.asset_id)
        entry = self.entry(app_id, holder)
        frozen = held.amount if entry is not None and entry.frozen else 0
        return Holding(
            holder=holder,
            balance=held.amount,
            free=held.amount - frozen,
            frozen=frozen,
            opted_in=held.opted_in,
        )

    def holders(self, ref: AssetRef, *, from_height: int = 0) -> Iterator[Holding]:
        """Every whitelisted account holding units (the whitelist boxes are the index)."""
        info, app_id, _ = self._context(ref)
        for address in sorted(self.whitelist(app_id)):
            if address == info.reserve:
                continue
            position = self.holding(ref, address)
            if position.balance > 0:
                yield position

    def eligibility(self, ref: AssetRef, wallet: str) -> Eligibility:
        """Whitelisted, KYC valid, not frozen, country allowed, opted in — or what is missing."""
        info, app_id, state = self._context(ref)
        wallet = checked_address(wallet, "wallet")
        entry = self.entry(app_id, wallet)
        held = self.chain.holding(wallet, info.asset_id)
        now = self.chain.now()
        missing: list[str] = []
        investor: Investor | None = None
        if entry is None:
            missing.append("whitelist")
        else:
            if not entry.kyc_valid(now):
                missing.append("kyc")
            if entry.frozen:
                missing.append("unfrozen")
            if state.countries and entry.country not in state.countries:
                missing.append("country")
            investor = self._investor(wallet, entry)
        if not held.opted_in:
            missing.append("opt_in")
        return Eligibility(
            asset=ref,
            wallet=wallet,
            eligible=not missing,
            investor=investor,
            missing=tuple(missing),
        )

    def _investor(self, wallet: str, entry: WhitelistEntry) -> Investor:
        # KYC is valid while now < expiry; a claim's valid_until is its last valid moment
        expiry = datetime.fromtimestamp(max(entry.kyc_expiry - 1, 0), tz=UTC)
        try:
            classification: tuple[Classification, ...] = (
                Classification(jurisdiction=entry.country, investor_class=entry.investor_class),
            )
            country: str | None = entry.country
        except ValueError:  # a country code the box holds but ISO does not know
            classification, country = (), None
        return Investor(
            identity_ref=wallet,
            identity_source=IdentitySource.ALGORAND_WHITELIST_APP,
            wallets=(wallet,),
            country=country,
            classifications=classification,
            claims=(Claim(type=ClaimType.KYC, valid_until=expiry),),
        )

    # ------------------------------------------------------------------ dry run
    def check_transfer(self, intent: TransferIntent) -> TransferCheck:
        """The application's verdict from reads (nothing is sent).

        ``operator`` None (or the sender): ``transfer`` by the sender, every rule.
        ``operator`` = the admin: ``forced_transfer`` (receiver whitelisted and opted in,
        enough units). Any other operator cannot move the sender's units.
        """
        info, app_id, state = self._context(intent.asset)
        sender = checked_address(intent.sender, "sender")
        receiver = checked_address(intent.recipient, "recipient")
        amount = check_amount(intent.amount)
        snd = self.chain.holding(sender, info.asset_id)
        rcv = self.chain.holding(receiver, info.asset_id)
        rcv_entry = self.entry(app_id, receiver)
        operator = intent.operator if intent.operator is not None else sender
        name: str | None
        if operator == sender:
            code, name = predict_transfer(
                state,
                now=self.chain.now(),
                sender=PartyView(sender, self.entry(app_id, sender), snd.opted_in, snd.amount),
                receiver=PartyView(receiver, rcv_entry, rcv.opted_in, rcv.amount),
                amount=amount,
                reserve=info.reserve,
            )
        elif operator == state.admin:
            code, name = R.OK, None
            if rcv_entry is None:
                code, name = R.RECIPIENT_NOT_ELIGIBLE, "RECEIVER_NOT_WHITELISTED"
            elif not rcv.opted_in:
                code, name = R.RECIPIENT_NOT_OPTED_IN, "RECEIVER_NOT_OPTED_IN"
            elif snd.amount < amount:
                code, name = R.INSUFFICIENT_BALANCE, "INSUFFICIENT_BALANCE"
        else:
            code, name = R.OPERATOR_NOT_AUTHORIZED, None
        if code is R.OK:
            return TransferCheck(intent=intent, allowed=True)
        refusal = Refusal(
            code=code,
            source_standard=self.standard,
            raw_code=name,
            detail=f"compliance application {app_id}: {name or 'operator is not the admin'}",
        )
        return TransferCheck(intent=intent, allowed=False, refusals=(refusal,))

    def refusal_for(self, message: str, *, sender: str) -> Refusal:
        """Canonical refusal from a rejection of a call to the application."""
        return refusal_from_rejection(message)

    # ------------------------------------------------------------------ writes
    def call(
        self,
        app_id: int,
        method: str,
        args: Sequence[bytes],
        signer: Signer,
        *,
        asset_id: int | None = None,
        accounts: Sequence[str] = (),
        boxes: Sequence[bytes] = (),
        inner: int = 0,
        subject: str | None = None,
    ) -> TxReceipt:
        """Call ``method`` of the application (ARC-4), paying for ``inner`` inner txns."""
        sp = self.chain.suggested_params()
        sp.flat_fee = True
        sp.fee = max(int(sp.min_fee or 1000), 1000) * (1 + inner)
        others = [a for a in dict.fromkeys(accounts) if a != signer.address]
        txn = transaction.ApplicationNoOpTxn(  # type: ignore[no-untyped-call]
            signer.address,
            sp,
            app_id,
            app_args=[selector(method), *args],
            accounts=others or None,
            foreign_assets=[asset_id] if asset_id else None,
            boxes=[(app_id, b) for b in dict.fromkeys(boxes)] or None,
        )
        return self._send([txn], signer, sender=subject or signer.address)

    def transfer(self, intent: TransferIntent, signer: Signer) -> TxReceipt:
        """Send ``transfer(to, amount)`` signed by the sender (or a forced transfer when the
        operator is the admin)."""
        info, app_id, _ = self._context(intent.asset)
        sender = checked_address(intent.sender, "sender")
        receiver = checked_address(intent.recipient, "recipient")
        amount = check_amount(intent.amount)
        operator = intent.operator if intent.operator is not None else sender
        if signer.address != operator:
            raise InvalidInput("signer", f"must sign for {operator}", value=signer.address)
        if operator != sender:
            return self.agent_operation(
                intent.asset,
                Capability.FORCED_TRANSFER,
                signer,
                sender=sender,
                recipient=receiver,
                amount=amount,
            )
        return self.call(
            app_id,
            "transfer",
            [key_from_address(receiver, "recipient"), encode_arg("uint64", amount, "amount")],
            signer,
            asset_id=info.asset_id,
            accounts=[receiver],
            boxes=[box_key(sender), box_key(receiver)],
            inner=1,
            subject=sender,
        )

    def set_rules(
        self,
        ref: AssetRef,
        signer: Signer,
        *,
        max_holders: int = 0,
        max_balance: int = 0,
        countries: Sequence[str] = (),
    ) -> TxReceipt:
        """Replace the asset's rules (admin)."""
        _, app_id, _ = self._context(ref)
        return self.call(
            app_id,
            "set_rules",
            [
                encode_arg("uint64", max_holders, "max_holders"),
                encode_arg("uint64", max_balance, "max_balance"),
                encode_arg("byte[]", encode_countries(countries), "countries"),
            ],
            signer,
        )

    def check_agent_operation(
        self, ref: AssetRef, capability: Capability, agent: str, **params: object
    ) -> AgentOperationCheck:
        """Dry-run an agent operation signed by ``agent`` (parameters as for
        :meth:`agent_operation`) from reads, in the application's order (specs/
        regulated-asa.md, sections 2 and 5); nothing is sent.

        Every method needs the admin (``NOT_ADMIN``). ``forced_transfer`` (and clawback)
        then runs checks 6, 10 and 11 (receiver whitelisted and opted in, the sender's
        balance); ``mint`` checks 6-13 with the reserve as the sender (not the pause);
        ``burn`` check 11; ``set_frozen`` and ``whitelist_remove`` need an entry
        (``NOT_WHITELISTED``), a removal an empty holding (``HOLDS_UNITS``). Each refusal
        carries the application's error name as ``raw_code``.
        """
        if capability not in self.capabilities:
            raise UnsupportedCapability(self.standard.value, capability.value)
        params = normalise_params(params)
        who = checked_address(agent, "agent")
        info, app_id, state = self._context(ref)
        name = self._agent_error(info, app_id, state, capability, who, params)
        refusals: tuple[Refusal, ...] = ()
        if name is not None:
            refusals = (
                Refusal(
                    code=ERROR_REASONS.get(name, R.TRANSFER_FAILURE),
                    source_standard=self.standard,
                    raw_code=name,
                    detail=f"compliance application {app_id}: {name}",
                ),
            )
        shown = {k: v for k, v in params.items() if isinstance(v, str | int | bool)}
        return AgentOperationCheck(
            asset=ref,
            operation=capability,
            agent=who,
            params=shown,
            allowed=not refusals,
            refusals=refusals,
        )

    def _agent_error(
        self,
        info: AsaInfo,
        app_id: int,
        state: AppState,
        capability: Capability,
        agent: str,
        params: dict[str, Any],
    ) -> str | None:
        if capability is Capability.OPT_IN:
            return None
        if agent != state.admin:
            return "NOT_ADMIN"
        asset_id = info.asset_id
        if capability in (Capability.ADDRESS_FREEZE, Capability.WHITELIST):
            holder = checked_address(params.get("holder"), "holder")
            if capability is Capability.WHITELIST and not params.get("remove"):
                return None
            if self.entry(app_id, holder) is None:
                return "NOT_WHITELISTED"
            if capability is Capability.WHITELIST:
                held = self.chain.holding(holder, asset_id)
                return "HOLDS_UNITS" if held.amount > 0 else None
            return None
        if capability is Capability.PAUSE:
            return None
        amount = check_amount(params.get("amount"))
        if capability is Capability.BURN:
            holder = checked_address(params.get("holder"), "holder")
            return (
                "INSUFFICIENT_BALANCE"
                if self.chain.holding(holder, asset_id).amount < amount
                else None
            )
        source = (
            info.reserve
            if capability is Capability.MINT
            else checked_address(params.get("sender"), "sender")
        )
        if source is None:
            return None  # agent_operation refuses a mint without a reserve itself
        target = checked_address(params.get("recipient"), "recipient")
        entry = self.entry(app_id, target)
        rcv = self.chain.holding(target, asset_id)
        snd = self.chain.holding(source, asset_id)
        if capability is not Capability.MINT:
            if entry is None:
                return "RECEIVER_NOT_WHITELISTED"
            if not rcv.opted_in:
                return "RECEIVER_NOT_OPTED_IN"
            return "INSUFFICIENT_BALANCE" if snd.amount < amount else None
        # checks 6-13 with the reserve as the sender: its own checks (1-5) do not apply
        reserve_entry = WhitelistEntry(
            country="ZZ", investor_class=InvestorClass.RETAIL, kyc_expiry=2**63, lockup_end=0
        )
        _, name = predict_transfer(
            dataclasses.replace(state, paused=False),
            now=self.chain.now(),
            sender=PartyView(source, reserve_entry, snd.opted_in, snd.amount),
            receiver=PartyView(target, entry, rcv.opted_in, rcv.amount),
            amount=amount,
            reserve=info.reserve,
        )
        return name

    def agent_operation(
        self, ref: AssetRef, capability: Capability, signer: Signer, **params: object
    ) -> TxReceipt:
        """Run an agent operation through the compliance application (admin signs).

        - ``WHITELIST``: ``holder``, ``country``, ``investor_class``, ``kyc_expiry``,
          ``lockup_end`` (Unix seconds or aware datetimes); or ``holder``, ``remove=True``;
        - ``ADDRESS_FREEZE``: ``holder``, ``frozen``;
        - ``FORCED_TRANSFER`` / ``CLAWBACK``: ``sender``, ``recipient``, ``amount``;
        - ``MINT``: ``recipient``, ``amount`` (out of the reserve, receiver rules apply);
        - ``BURN``: ``holder``, ``amount`` (back into the reserve);
        - ``PAUSE``: ``paused`` (default true; false unpauses);
        - ``OPT_IN``: the signer's own account opts in to the asset.
        """
        if capability not in self.capabilities:
            raise UnsupportedCapability(self.standard.value, capability.value)
        params = normalise_params(params)
        info, app_id, _ = self._context(ref)
        asset_id = info.asset_id
        if capability is Capability.OPT_IN:
            return self.opt_in(ref, signer)
        if capability is Capability.WHITELIST:
            holder = checked_address(params.get("holder"), "holder")
            if params.get("remove"):
                return self.call(
                    app_id,
                    "whitelist_remove",
                    [key_from_address(holder)],
                    signer,
                    asset_id=asset_id,
                    accounts=[holder],
                    boxes=[box_key(holder)],
                )
            country = params.get("country")
            if not isinstance(country, str) or len(country) != 2 or not country.isupper():
                raise InvalidInput("country", "an ISO 3166-1 alpha-2 code", value=country)
            return self.call(
                app_id,
                "whitelist_set",
                [
                    key_from_address(holder),
                    country.encode("ascii"),
                    bytes([_class_code(params.get("investor_class", InvestorClass.RETAIL))]),
                    encode_arg("uint64", _timestamp(params.get("kyc_expiry"), "kyc_expiry"), "kyc"),
                    encode_arg(
                        "uint64", _timestamp(params.get("lockup_end", 0), "lockup_end"), "lock"
                    ),
                ],
                signer,
                boxes=[box_key(holder)],
            )
        if capability is Capability.ADDRESS_FREEZE:
            holder = checked_address(params.get("holder"), "holder")
            frozen = params.get("frozen", True)
            return self.call(
                app_id,
                "set_frozen",
                [key_from_address(holder), encode_arg("bool", frozen, "frozen")],
                signer,
                boxes=[box_key(holder)],
            )
        if capability in (Capability.FORCED_TRANSFER, Capability.CLAWBACK):
            source = checked_address(params.get("sender"), "sender")
            target = checked_address(params.get("recipient"), "recipient")
            amount = check_amount(params.get("amount"))
            return self.call(
                app_id,
                "forced_transfer",
                [
                    key_from_address(source),
                    key_from_address(target),
                    encode_arg("uint64", amount, "amount"),
                ],
                signer,
                asset_id=asset_id,
                accounts=[source, target],
                boxes=[box_key(target)],
                inner=1,
                subject=source,
            )
        if capability is Capability.MINT:
            target = checked_address(params.get("recipient"), "recipient")
            amount = check_amount(params.get("amount"))
            if info.reserve is None:
                raise UnsupportedCapability(self.standard.value, "mint (no reserve address)")
            return self.call(
                app_id,
                "mint",
                [key_from_address(target), encode_arg("uint64", amount, "amount")],
                signer,
                asset_id=asset_id,
                accounts=[target, info.reserve],
                boxes=[box_key(target)],
                inner=1,
                subject=info.reserve,
            )
        if capability is Capability.BURN:
            source = checked_address(params.get("holder"), "holder")
            amount = check_amount(params.get("amount"))
            if info.reserve is None:
                raise UnsupportedCapability(self.standard.value, "burn (no reserve address)")
            return self.call(
                app_id,
                "burn",
                [key_from_address(source), encode_arg("uint64", amount, "amount")],
                signer,
                asset_id=asset_id,
                accounts=[source, info.reserve],
                inner=1,
                subject=source,
            )
        if capability is Capability.PAUSE:
            paused = params.get("paused", True)
            if not isinstance(paused, bool):
                raise InvalidInput("paused", "must be true or false", value=paused)
            return self.call(app_id, "pause" if paused else "unpause", [], signer)
        raise UnsupportedCapability(self.standard.value, capability.value)


def _factory(client: Any, **kwargs: Any) -> RegulatedAsaAdapter:
    chain = client if isinstance(client, AlgodChain) else AlgodChain(client)
    return RegulatedAsaAdapter(chain, **kwargs)


def _probe(client: Any, asset_id: int, **kwargs: Any) -> bool:
    adapter = _factory(client, **kwargs)
    try:
        adapter.app_id_of(asset_id)
    except (WrongStandard, NotFound):
        return False
    return True


SPEC = AdapterSpec(
    standard=Standard.REGULATED_ASA,
    family="algorand",
    capabilities=RegulatedAsaAdapter.capabilities,
    factory=_factory,
    probe=_probe,
    summary="stbridge regulated ASA: default-frozen ASA governed by a compliance application",
    priority=50,
)
"""Registry entry (entry point ``regulated_asa``)."""
