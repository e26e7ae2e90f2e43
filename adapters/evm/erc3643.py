"""ERC-3643 (T-REX v4) adapter: read a token into the canonical model, dry-run transfers,
run agent operations.

Two halves, as every adapter:

- :class:`Erc3643Codec` is pure: it turns facts read from chain into canonical objects
  (rules from compliance modules, holdings, refusals) and derives the refusal of a transfer
  from :class:`TransferFacts` following T-REX's own order of checks (research §1.9):
  paused -> sender/recipient frozen -> unfrozen balance -> recipient identity (registered,
  verified, missing claims) -> each compliance module's ``moduleCheck``.
- :class:`Erc3643Adapter` does the I/O through :class:`adapters.evm.client.EvmClient` with the
  ABIs shipped in ``adapters/evm/abi``.

T-REX 4.1.x reverts a refused transfer with few strings ("Transfer not possible" for every
identity and compliance failure), so the canonical reason is rebuilt from view calls; the
raw revert message of a simulated ``transfer`` (an ``eth_call``, nothing is sent) is kept on
the first refusal.

Capabilities declared: mint, burn, pause, address freeze, partial freeze, forced transfer,
recovery, identity registration. ``agent_operation`` parameters per capability:

==========================  ==========================================================
``MINT``                    ``to``, ``amount``
``BURN``                    ``holder``, ``amount``
``PAUSE``                   ``paused`` (True pauses, False unpauses)
``ADDRESS_FREEZE``          ``address``, ``frozen`` (bool)
``PARTIAL_FREEZE``          ``address``, ``amount``, ``freeze`` (default True)
``FORCED_TRANSFER``         ``sender``, ``recipient``, ``amount``
``RECOVERY``                ``lost_wallet``, ``new_wallet``, ``identity``
``IDENTITY_REGISTRATION``   ``wallet``, ``identity``, ``country`` (alpha-2)
==========================  ==========================================================

Every operation also accepts ``gas`` (int) to skip estimation.

For the compliance engine, :meth:`Erc3643Adapter.read_party` reads what the token knows of
a party's wallet: its ONCHAINID, its agent role and its identity's past transfers (every
wallet of the identity, each with its recipient's identity), which T-REX's time and
exchange limits count.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, cast

from pydantic import ValidationError
from web3 import Web3
from web3.contract import Contract

from adapters.evm.abi import load_abi
from adapters.evm.batch import (
    ViewCall,
    checksum_topic,
    log_topics,
    read_batch,
    require_answers,
    word_uint,
)
from adapters.evm.client import EvmClient, EvmReverted, RevertInfo
from bridge.errors import (
    BridgeError,
    InvalidInput,
    UnsupportedCapability,
    WrongStandard,
)
from bridge.model import (
    AgentOperationCheck,
    AllowListRule,
    Asset,
    AssetRef,
    Capability,
    Claim,
    ClaimType,
    CountryAllowRule,
    CountryDenyRule,
    DenyListRule,
    Document,
    Eligibility,
    EvmContractLocator,
    Holding,
    IdentitySource,
    Investor,
    IssuerApprovalRule,
    MaxBalanceRule,
    OpaqueRule,
    Refusal,
    RequiredClaimsRule,
    RoleAssignment,
    Rule,
    Standard,
    SupplyCapRule,
    TransferCheck,
    TransferFeeRule,
    TransferIntent,
    VolumeLimitRule,
)
from bridge.ports import Signer, TxReceipt
from bridge.reasons import ReasonCode, from_trex_message, from_trex_module
from bridge.registry import AdapterSpec
from bridge.types import alpha2_to_numeric, numeric_to_alpha2
from bridge.validation import invalid_input

if TYPE_CHECKING:
    from bridge.compliance.model import Outflow, Party

__all__ = [
    "CAPABILITIES",
    "DEFAULT_TOPIC_MAP",
    "SPEC",
    "Erc3643Adapter",
    "Erc3643Codec",
    "ModuleFacts",
    "TransferFacts",
    "probe",
]

log = logging.getLogger(__name__)

CAPABILITIES: Final = frozenset(
    {
        Capability.MINT,
        Capability.BURN,
        Capability.PAUSE,
        Capability.ADDRESS_FREEZE,
        Capability.PARTIAL_FREEZE,
        Capability.FORCED_TRANSFER,
        Capability.RECOVERY,
        Capability.IDENTITY_REGISTRATION,
    }
)
"""What the T-REX token and its identity registry let an agent do."""

DEFAULT_TOPIC_MAP: Final[Mapping[int, ClaimType]] = {
    1: ClaimType.KYC,
    2: ClaimType.ACCREDITED,
    3: ClaimType.JURISDICTION,
}
"""Claim topic -> canonical claim type. Topics are per deployment: pass your own map."""

_ZERO: Final = "0x" + "00" * 20
_NO_VALUE: Final = "invalid argument - no value transfer"
_UNDERFLOW: Final = "Panic(0x11)"
"""What T-REX 4.1.6 reverts with on an arithmetic underflow (a short allowance too)."""
_TIME_MODULES: Final = frozenset(
    {"TimeTransfersLimitsModule", "TimeExchangeLimitsModule", "ExchangeMonthlyLimitsModule"}
)
_MAX_BALANCE_SLOT: Final = 202
"""Storage slot of MaxBalanceModule's ``_maxBalance`` mapping in T-REX 4.1.6 (checked)."""
_MODELLED_AGENT_OPS: Final = frozenset(
    {Capability.MINT, Capability.BURN, Capability.FORCED_TRANSFER, Capability.RECOVERY}
)
"""Agent operations judged from reads; the others are judged by their simulation."""
_MONTH: Final = 30 * 86_400
"""ExchangeMonthlyLimitsModule's window (``30 days``)."""
_DOCS_ABI: Final = (
    {
        "type": "function",
        "name": "getAllDocuments",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "bytes32[]"}],
    },
    {
        "type": "function",
        "name": "getDocument",
        "stateMutability": "view",
        "inputs": [{"name": "_name", "type": "bytes32"}],
        "outputs": [
            {"name": "", "type": "string"},
            {"name": "", "type": "bytes32"},
            {"name": "", "type": "uint256"},
        ],
    },
)
"""ERC-1643 document getters (T-REX 4.1.6 has none; other deployments may)."""


# ---------------------------------------------------------------------------------------
# pure half
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModuleFacts:
    """One bound compliance module: address, ``name()``, and its ``moduleCheck`` verdict.

    ``check_error`` holds the revert text when ``moduleCheck`` itself reverted. ``state``
    holds what the codec's model of the module needs beyond the verdict (read by the
    adapter; empty when unknown, and then the module's hooks are not modelled):

    - ``MaxBalanceModule``: ``max`` (int or None), ``balances`` (identity -> the module's
      count of that identity's balance);
    - ``TransferFeesModule``: ``rate``, ``collector``, ``collector_verified``, ``is_agent``
      (the module holds the token's agent role, which its fee transfer needs);
    - ``TimeTransfersLimitsModule``: ``limits`` ((seconds, value), ...), ``counters``
      (seconds -> (value, window end)) of the sender's identity;
    - ``TimeExchangeLimitsModule``: ``sender_is_exchange``, ``recipient_is_exchange``,
      ``limits``, ``counters`` (of the sender's identity towards the recipient exchange);
    - ``ExchangeMonthlyLimitsModule``: ``sender_is_exchange``, ``recipient_is_exchange``,
      ``limit``, ``count``, ``timer``;
    - ``TokenListingRestrictionsModule``: ``listing_type`` (0 none, 1 allow, 2 deny).
    """

    address: str
    name: str
    passed: bool
    check_error: str | None = None
    state: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TransferFacts:
    """Everything T-REX's ``transfer`` looks at, read from chain before a dry run.

    ``at`` is the block timestamp the transfer is predicted to land in (the time windows
    are judged then); ``identities`` maps the wallets involved (sender, recipient, fee
    collector) to their identity contracts (None when not registered).
    """

    paused: bool
    sender_frozen: bool
    recipient_frozen: bool
    sender_balance: int
    sender_frozen_tokens: int
    amount: int
    recipient_registered: bool
    recipient_verified: bool
    missing_claims: tuple[tuple[int, ClaimType], ...] = ()
    modules: tuple[ModuleFacts, ...] = ()
    allowance: int | None = None
    recipient_is_zero: bool = False
    sender_registered: bool = True
    sender: str = ""
    recipient: str = ""
    identities: Mapping[str, str | None] = field(default_factory=dict)
    sender_is_agent: bool = False
    at: int | None = None
    compliance: str = ""


@dataclass(frozen=True)
class Erc3643Codec:
    """Pure translation between T-REX facts and the canonical model."""

    topic_map: Mapping[int, ClaimType] = field(default_factory=lambda: dict(DEFAULT_TOPIC_MAP))
    standard: Standard = Standard.ERC3643

    def refusal(self, raw_code: str | None, raw_message: str | None) -> Refusal:
        """Canonical refusal for a T-REX revert string or a compliance module name."""
        code = ReasonCode.UNKNOWN
        if raw_message:
            code = from_trex_message(raw_message)
        if code is ReasonCode.UNKNOWN and raw_code:
            code = from_trex_module(raw_code)
        return Refusal(
            code=code,
            source_standard=self.standard,
            raw_code=raw_code,
            raw_message=raw_message,
            detail=raw_message or raw_code or "refused",
        )

    def claim_type(self, topic: int) -> ClaimType:
        """Canonical type of a claim topic (CUSTOM when the map does not name it)."""
        return self.topic_map.get(topic, ClaimType.CUSTOM)

    def holding(
        self, holder: str, balance: int, frozen_tokens: int, address_frozen: bool
    ) -> Holding:
        """ERC-3643 holding: the whole balance is frozen when the address is frozen."""
        frozen = balance if address_frozen else min(frozen_tokens, balance)
        return Holding(holder=holder, balance=balance, free=balance - frozen, frozen=frozen)

    def derive_refusals(self, facts: TransferFacts) -> tuple[Refusal, ...]:
        """Every reason the transfer fails, in the order T-REX checks them (first = reverted).

        T-REX 4.1.6's ``transfer``/``transferFrom``: paused -> either wallet frozen ->
        unfrozen balance -> recipient verified -> each module's ``moduleCheck`` (time
        windows judged at ``facts.at``) -> allowance (``transferFrom`` only; an underflow,
        ``Panic(0x11)``) -> amount 0 refused by the compliance -> each module's transfer
        hook (identity lookups, MaxBalanceModule's accounting, the fee transfer to the
        TransferFeesModule's collector). An empty tuple means the transfer goes through.
        """
        out: list[Refusal] = []
        s = self.standard

        def add(code: ReasonCode, raw_code: str, message: str | None, detail: str) -> None:
            out.append(
                Refusal(
                    code=code,
                    source_standard=s,
                    raw_code=raw_code,
                    raw_message=message,
                    detail=detail,
                )
            )

        if facts.paused:
            add(ReasonCode.TOKEN_PAUSED, "paused()", "Pausable: paused", "the token is paused")
        if facts.sender_frozen:
            add(ReasonCode.SENDER_FROZEN, "isFrozen(from)", "wallet is frozen", "sender frozen")
        if facts.recipient_frozen:
            add(
                ReasonCode.RECIPIENT_FROZEN,
                "isFrozen(to)",
                "wallet is frozen",
                "recipient frozen",
            )
        free = facts.sender_balance - facts.sender_frozen_tokens
        if facts.amount > free:
            code = (
                ReasonCode.INSUFFICIENT_BALANCE
                if facts.amount > facts.sender_balance
                else ReasonCode.INSUFFICIENT_UNFROZEN_BALANCE
            )
            add(
                code,
                "balanceOf-getFrozenTokens",
                "Insufficient Balance",
                f"sender can move {max(free, 0)}, asked {facts.amount}",
            )
        if facts.recipient_is_zero:
            add(ReasonCode.INVALID_RECEIVER, "to=0", None, "recipient is the zero address")
        if not facts.recipient_registered:
            add(
                ReasonCode.RECIPIENT_NOT_ELIGIBLE,
                "identityRegistry.contains(to)=false",
                "Transfer not possible",
                "recipient is not registered in the identity registry",
            )
        elif not facts.recipient_verified:
            types = [t for _, t in facts.missing_claims]
            code = (
                ReasonCode.ACCREDITATION_REQUIRED
                if types and all(t is ClaimType.ACCREDITED for t in types)
                else ReasonCode.RECIPIENT_NOT_ELIGIBLE
            )
            named = ", ".join(f"{t.value} (topic {topic})" for topic, t in facts.missing_claims)
            add(
                code,
                "identityRegistry.isVerified(to)=false",
                "Transfer not possible",
                f"recipient not verified: missing claim {named or 'from a trusted issuer'}",
            )
        for module in facts.modules:
            if self.module_passes(module, facts):
                continue
            code = from_trex_module(module.name)
            if module.name == "TokenListingRestrictionsModule" and (
                module.state.get("listing_type") == 2
            ):
                code = ReasonCode.BLOCKLISTED_PARTY
            why = f"{module.name} at {module.address} refused"
            if module.check_error:
                why += f" (moduleCheck reverted: {module.check_error})"
            elif module.name in _TIME_MODULES and facts.at is not None:
                why += f" at block time {facts.at}"
            add(
                code if code is not ReasonCode.UNKNOWN else ReasonCode.TRANSFER_FAILURE,
                module.name,
                module.check_error or "Transfer not possible",
                why,
            )
        if facts.allowance is not None and facts.amount > facts.allowance:
            # T-REX 4.1.6 subtracts without a check: an arithmetic underflow, after the
            # identity and compliance checks
            add(
                ReasonCode.INSUFFICIENT_ALLOWANCE,
                "allowance",
                _UNDERFLOW,
                f"allowance {facts.allowance} < {facts.amount}",
            )
        if facts.amount == 0:
            # ModularCompliance.transferred() refuses an empty transfer after every check
            add(
                ReasonCode.TRANSFER_FAILURE,
                "amount=0",
                _NO_VALUE,
                "T-REX's compliance refuses a transfer of 0",
            )
        elif not out:
            # the hooks run only once every check passed (their reasons are not guessed
            # for a transfer the checks already refuse)
            out.extend(self.hook_refusals(facts))
        return tuple(out)

    def module_passes(self, module: ModuleFacts, facts: TransferFacts) -> bool:
        """A module's verdict: the chain's ``moduleCheck``, except for the time-window
        modules, re-judged at ``facts.at`` from their counters (a window that has ended by
        then no longer counts)."""
        st = module.state
        if module.name not in _TIME_MODULES or facts.at is None or not st:
            return module.passed
        at, amount = facts.at, facts.amount
        if facts.sender_is_agent:
            return True
        if module.name == "TimeTransfersLimitsModule":
            return _windows_pass(st["limits"], st["counters"], amount, at)
        if st["sender_is_exchange"] or not st["recipient_is_exchange"]:
            return True
        if module.name == "TimeExchangeLimitsModule":
            return _windows_pass(st["limits"], st["counters"], amount, at)
        limit, count, timer = int(st["limit"]), int(st["count"]), int(st["timer"])
        if amount > limit:
            return False
        return timer <= at or count + amount <= limit

    def hook_refusals(self, facts: TransferFacts) -> tuple[Refusal, ...]:
        """Refusals from the modules' transfer hooks, which run after the token moved the
        amount (``ModularCompliance.transferred``), in the modules' order.

        Modelled: MaxBalanceModule (looks up both identities -- "identity not found" --
        adds to the recipient's count, subtracts from the sender's -- an underflow when its
        count is short -- and refuses a count above the maximum) and TransferFeesModule
        (a forced transfer of the fee from the recipient to the collector: the module
        must be an agent, the collector a verified identity, and the fee transfer runs
        every hook again). The other modules' hooks only update counters.
        """
        balances: dict[str, int] = {}
        for module in facts.modules:
            if module.name == "MaxBalanceModule" and module.state:
                balances.update({k.lower(): int(v) for k, v in module.state["balances"].items()})
        out: list[Refusal] = []
        self._hooks(facts, facts.sender, facts.recipient, facts.amount, balances, out)
        return tuple(out)

    def mint_hook_refusals(self, facts: TransferFacts, to: str, amount: int) -> tuple[Refusal, ...]:
        """Refusals from the modules' mint hooks: MaxBalanceModule adds the amount to the
        recipient identity's count and refuses a count above the maximum."""
        for module in facts.modules:
            if module.name != "MaxBalanceModule" or not module.state:
                continue
            identity = facts.identities.get(to)
            counts = {k.lower(): int(v) for k, v in module.state["balances"].items()}
            after = counts.get(str(identity).lower(), 0) + amount
            limit = module.state.get("max")
            if limit is not None and after > int(limit):
                return (
                    Refusal(
                        code=ReasonCode.MAX_BALANCE_EXCEEDED,
                        source_standard=self.standard,
                        raw_code=module.name,
                        raw_message=f"MaxBalanceExceeded({facts.compliance}, {amount})",
                        detail=f"identity {identity} would hold {after}, above {limit}",
                    ),
                )
        return ()

    def burn_hook_refusals(
        self, facts: TransferFacts, holder: str, amount: int
    ) -> tuple[Refusal, ...]:
        """Refusals from the modules' burn hooks: MaxBalanceModule looks up the holder's
        identity ("identity not found") and subtracts from its count (an underflow when
        its count is short)."""
        for module in facts.modules:
            if module.name != "MaxBalanceModule" or not module.state:
                continue
            identity = facts.identities.get(holder)
            if identity is None:
                return (
                    Refusal(
                        code=ReasonCode.SENDER_NOT_ELIGIBLE,
                        source_standard=self.standard,
                        raw_code="identityRegistry.identity(from)=0",
                        raw_message="identity not found",
                        detail=f"{holder} has no identity (MaxBalanceModule's hook needs one)",
                    ),
                )
            counts = {k.lower(): int(v) for k, v in module.state["balances"].items()}
            held = counts.get(identity.lower(), 0)
            if held < amount:
                return (
                    Refusal(
                        code=ReasonCode.TRANSFER_FAILURE,
                        source_standard=self.standard,
                        raw_code="MaxBalanceModule.getIDBalance(from)",
                        raw_message=_UNDERFLOW,
                        detail=f"MaxBalanceModule counts {held} for identity {identity}, "
                        f"less than the {amount} burnt: its accounting underflows",
                    ),
                )
        return ()

    def _hooks(
        self,
        facts: TransferFacts,
        frm: str,
        to: str,
        value: int,
        balances: dict[str, int],
        out: list[Refusal],
    ) -> bool:
        ids = {k.lower(): v for k, v in facts.identities.items()}

        def add(code: ReasonCode, raw_code: str, message: str, detail: str) -> bool:
            out.append(
                Refusal(
                    code=code,
                    source_standard=self.standard,
                    raw_code=raw_code,
                    raw_message=message,
                    detail=detail,
                )
            )
            return False

        for module in facts.modules:
            st = module.state
            if not st:
                continue
            if module.name == "MaxBalanceModule":
                id_from, id_to = ids.get(frm.lower()), ids.get(to.lower())
                if id_from is None or id_to is None:
                    party = "sender" if id_from is None else "recipient"
                    return add(
                        ReasonCode.SENDER_NOT_ELIGIBLE
                        if id_from is None
                        else ReasonCode.RECIPIENT_NOT_ELIGIBLE,
                        f"identityRegistry.identity({'from' if id_from is None else 'to'})=0",
                        "identity not found",
                        f"the {party} {frm if id_from is None else to} has no identity in "
                        "the registry (MaxBalanceModule's transfer hook needs one)",
                    )
                f_key, t_key = id_from.lower(), id_to.lower()
                balances[t_key] = balances.get(t_key, 0) + value
                held = balances.get(f_key, 0)
                if held < value:
                    return add(
                        ReasonCode.TRANSFER_FAILURE,
                        "MaxBalanceModule.getIDBalance(from)",
                        _UNDERFLOW,
                        f"MaxBalanceModule counts {held} for identity {id_from}, less than "
                        f"the {value} leaving it: its accounting underflows",
                    )
                balances[f_key] = held - value
                limit = st.get("max")
                if limit is not None and balances[t_key] > int(limit):
                    return add(
                        ReasonCode.MAX_BALANCE_EXCEEDED,
                        module.name,
                        f"MaxBalanceExceeded({facts.compliance}, {value})",
                        f"identity {id_to} would hold {balances[t_key]}, above {limit}",
                    )
            elif module.name == "TransferFeesModule":
                rule = TransferFeeRule(rate_bps=int(st["rate"]), collector=str(st["collector"]))
                id_from, id_to = ids.get(frm.lower()), ids.get(to.lower())
                fee = rule.fee(value, sender=frm, recipient=to, same_identity=id_from == id_to)
                if fee == 0:
                    continue
                collector = rule.collector
                if not st["is_agent"]:
                    return add(
                        ReasonCode.FEE_COLLECTION_FAILED,
                        "token.isAgent(TransferFeesModule)=false",
                        "AgentRole: caller does not have the Agent role",
                        f"the fee module {module.address} is not an agent of the token and "
                        "cannot collect the fee",
                    )
                if not st["collector_verified"]:
                    return add(
                        ReasonCode.FEE_COLLECTION_FAILED,
                        "identityRegistry.isVerified(collector)=false",
                        "Transfer not possible",
                        f"the fee collector {collector} is not a verified identity: the fee "
                        f"of {fee} cannot be paid to it",
                    )
                inner: list[Refusal] = []
                if not self._hooks(facts, to, collector, fee, balances, inner):
                    out.extend(
                        r.model_copy(
                            update={
                                "code": ReasonCode.FEE_COLLECTION_FAILED,
                                "detail": f"fee of {fee} to {collector}: {r.detail}",
                            }
                        )
                        for r in inner
                    )
                    return False
        return True

    def module_rules(self, name: str, address: str, params: Mapping[str, Any]) -> tuple[Rule, ...]:
        """Canonical rules of one compliance module from its read parameters.

        Each rule means what the module enforces: TransferRestrictModule passes a transfer
        when *either* party is listed; the time and exchange limits are fixed windows per
        identity opened by the first transfer, agents exempt; TokenListingRestrictions
        lists recipients (wallet or identity) to allow or to deny; TransferFeesModule is
        a fee with its rate and collector.
        """
        source = f"{address} {name}"
        if name == "CountryAllowModule":
            return (CountryAllowRule(countries=tuple(params["countries"]), source=source),)
        if name == "CountryRestrictModule":
            return (CountryDenyRule(countries=tuple(params["countries"]), source=source),)
        if name == "MaxBalanceModule" and params.get("limit") is not None:
            return (MaxBalanceRule(limit=int(params["limit"]), per="identity", source=source),)
        if name == "SupplyLimitModule":
            return (SupplyCapRule(limit=int(params["limit"]), source=source),)
        if name == "TransferRestrictModule":
            return (
                AllowListRule(addresses=tuple(params["addresses"]), scope="either", source=source),
            )
        if name == "ConditionalTransferModule":
            return (IssuerApprovalRule(source=source),)
        if name == "TimeTransfersLimitsModule":
            return tuple(
                VolumeLimitRule(
                    window_seconds=int(w),
                    amount=int(v),
                    window="fixed",
                    per="identity",
                    agents_exempt=True,
                    source=source,
                )
                for w, v in params["limits"]
            )
        if name in ("TimeExchangeLimitsModule", "ExchangeMonthlyLimitsModule") and (
            "exchanges" in params
        ):
            return tuple(
                VolumeLimitRule(
                    window_seconds=int(w),
                    amount=int(v),
                    window="fixed",
                    per="identity",
                    agents_exempt=True,
                    into=exchange,
                    source=source,
                )
                for exchange, limits in params["exchanges"]
                for w, v in limits
            )
        if name == "TokenListingRestrictionsModule" and "listing_type" in params:
            listed = tuple(params.get("listed", ()))
            if params["listing_type"] == 1:
                return (AllowListRule(addresses=listed, scope="recipient", source=source),)
            if params["listing_type"] == 2:
                return (DenyListRule(addresses=listed, scope="recipient", source=source),)
            return ()
        if name == "TransferFeesModule" and "rate" in params:
            return (
                TransferFeeRule(
                    rate_bps=int(params["rate"]), collector=str(params["collector"]), source=source
                ),
            )
        return (
            OpaqueRule(
                standard=self.standard,
                name=name,
                source=address,
                description=f"T-REX compliance module {name!r} at {address} (not interpreted)",
            ),
        )


def _windows_pass(
    limits: Sequence[tuple[int, int]], counters: Mapping[int, tuple[int, int]], amount: int, at: int
) -> bool:
    """T-REX's fixed windows: a counter whose end has passed no longer counts."""
    for seconds, limit in limits:
        if amount > limit:
            return False
        value, end = counters.get(int(seconds), (0, 0))
        if end > at and value + amount > limit:
            return False
    return True


# ---------------------------------------------------------------------------------------
# I/O half
# ---------------------------------------------------------------------------------------


def _topic(signature: str) -> str:
    return "0x" + Web3.keccak(text=signature).hex().removeprefix("0x")


_T_TRANSFER: Final = _topic("Transfer(address,address,uint256)")
_BALANCE_OF: Final = ViewCall("balanceOf(address)")
_FROZEN_TOKENS: Final = ViewCall("getFrozenTokens(address)")
_IS_FROZEN: Final = ViewCall("isFrozen(address)", ("bool",))
_T_TOKENS_FROZEN: Final = _topic("TokensFrozen(address,uint256)")
_T_TOKENS_UNFROZEN: Final = _topic("TokensUnfrozen(address,uint256)")
_T_ADDRESS_FROZEN: Final = _topic("AddressFrozen(address,bool,address)")
_T_AGENT_ADDED: Final = _topic("AgentAdded(address)")
_T_AGENT_REMOVED: Final = _topic("AgentRemoved(address)")


def _addr_from_topic(topic: Any) -> str:
    raw = bytes(topic)[-20:]
    return Web3.to_checksum_address(raw)


class Erc3643Adapter:
    """The T-REX adapter over one EVM client (implements :class:`bridge.ports.TokenPort`).

    ``topic_map`` maps this deployment's claim topics to canonical claim types;
    ``from_block`` (the token's deployment block on a long chain) bounds every event scan;
    ``log_step`` is the widest ``eth_getLogs`` range; ``batch_size`` the holders read per
    step of a holder scan (three calls each, in JSON-RPC batches of
    :data:`~adapters.evm.batch.DEFAULT_BATCH_SIZE`).
    """

    standard: Standard = Standard.ERC3643
    capabilities: frozenset[Capability] = CAPABILITIES

    def __init__(
        self,
        client: EvmClient,
        *,
        topic_map: Mapping[int, ClaimType] | None = None,
        log_step: int = 5_000,
        batch_size: int = 2_000,
        from_block: int = 0,
    ) -> None:
        self.client = client
        self.from_block = from_block
        self.codec = Erc3643Codec(dict(topic_map or DEFAULT_TOPIC_MAP))
        self.log_step = log_step
        self.batch_size = batch_size
        self._module_names: dict[str, str] = {}
        self._deployed: set[str] = set()

    # -- helpers -------------------------------------------------------------------------

    def ref(self, address: str) -> AssetRef:
        """The asset reference of the token at ``address`` on this client's chain."""
        checked = self.client.checked_address(address)
        return AssetRef(chain=self.client.chain, locator=EvmContractLocator(address=checked))

    def intent(
        self, ref: AssetRef, sender: str, recipient: str, amount: int, **extra: Any
    ) -> TransferIntent:
        """A validated :class:`TransferIntent`; bad values raise ``InvalidInput``."""
        try:
            return TransferIntent(
                asset=ref, sender=sender, recipient=recipient, amount=amount, **extra
            )
        except ValidationError as exc:
            raise invalid_input(exc) from None

    def _address_of(self, ref: AssetRef) -> str:
        if ref.locator.kind != "evm_contract" or ref.chain.kind != "evm":
            raise InvalidInput("asset", "an ERC-3643 token is an EVM contract")
        if ref.chain.chain_id != self.client.chain_id:
            raise InvalidInput(
                "asset.chain",
                f"this client is on chain {self.client.chain_id}, not {ref.chain.chain_id}",
            )
        return ref.locator.address

    def _c(self, name: str, address: str) -> Contract:
        return self.client.contract(address, load_abi(name))

    def token(self, ref: AssetRef) -> Contract:
        """The token contract (checked once to be deployed)."""
        address = self._address_of(ref)
        if address not in self._deployed:
            self.client.require_code(address)
            self._deployed.add(address)
        return self._c("Token", address)

    def _read(self, fn_call: Any) -> Any:
        return self.client.read(fn_call)

    def _try(self, fn_call: Any) -> tuple[bool, Any]:
        try:
            return True, self.client.read(fn_call)
        except EvmReverted as exc:
            return False, exc.revert
        except BridgeError as exc:
            if exc.transient:
                raise
            return False, RevertInfo(message=str(exc))

    def _registry(self, token: Contract) -> Contract:
        return self._c("IdentityRegistry", self._read(token.functions.identityRegistry()))

    def _compliance(self, token: Contract) -> Contract:
        return self._c("ModularCompliance", self._read(token.functions.compliance()))

    def _module_name(self, address: str) -> str:
        if address not in self._module_names:
            ok, value = self._try(self._c("IModule", address).functions.name())
            self._module_names[address] = str(value) if ok else f"unnamed module {address}"
        return self._module_names[address]

    # -- reading -----------------------------------------------------------------------

    def read_asset(self, ref: AssetRef) -> Asset:
        """The token with its rules (identity requirements, every compliance module)."""
        height = self.client.head()
        token = self.token(ref)
        f = token.functions
        try:
            name = str(self._read(f.name()))
            symbol = str(self._read(f.symbol()))
            decimals = int(self._read(f.decimals()))
            supply = int(self._read(f.totalSupply()))
            paused = bool(self._read(f.paused()))
            owner = str(self._read(f.owner()))
            registry = self._registry(token)
            compliance = self._compliance(token)
            onchain_id = str(self._read(f.onchainID()))
        except EvmReverted as exc:
            raise WrongStandard(
                f"{token.address} does not answer as an ERC-3643 token ({exc.revert.describe()})"
            ) from exc
        rules: list[Rule] = []
        rules.extend(self._identity_rules(registry))
        for module_address in self._read(compliance.functions.getModules()):
            rules.extend(self._module_rules(str(module_address), compliance.address))
        roles = [RoleAssignment(role="owner", holder=owner)]
        roles += [RoleAssignment(role="agent", holder=a) for a in self._agents(token)]
        roles += [
            RoleAssignment(role="identity_registry_agent", holder=a) for a in self._agents(registry)
        ]
        if onchain_id != _ZERO:
            roles.append(RoleAssignment(role="onchain_id", holder=onchain_id))
        return Asset(
            chain=ref.chain,
            locator=ref.locator,
            standard=Standard.ERC3643,
            name=name,
            symbol=symbol,
            decimals=decimals,
            total_supply=supply,
            paused=paused,
            issuer=owner,
            documents=self._documents(token.address),
            rules=tuple(rules),
            controls=tuple(self.capabilities),
            roles=tuple(roles),
            read_at_height=height,
        )

    def _identity_rules(self, registry: Contract) -> list[Rule]:
        topics_registry = self._c(
            "ClaimTopicsRegistry", self._read(registry.functions.topicsRegistry())
        )
        issuers_registry = self._c(
            "TrustedIssuersRegistry", self._read(registry.functions.issuersRegistry())
        )
        topics = tuple(int(t) for t in self._read(topics_registry.functions.getClaimTopics()))
        if not topics:
            return []
        issuers = tuple(str(i) for i in self._read(issuers_registry.functions.getTrustedIssuers()))
        return [
            RequiredClaimsRule(
                claim_types=tuple(self.codec.claim_type(t) for t in topics),
                topics=topics,
                trusted_issuers=issuers,
                source=f"{registry.address} IdentityRegistry",
            )
        ]

    def _agents(self, contract: Contract) -> list[str]:
        seen: dict[str, None] = {}
        for entry in self.client.logs(
            address=contract.address,
            topics=[[_T_AGENT_ADDED, _T_AGENT_REMOVED]],
            step=self.log_step,
            from_block=self.from_block,
        ):
            seen[_addr_from_topic(entry["topics"][1])] = None
        return [a for a in seen if self._read(contract.functions.isAgent(a))]

    def _events(self, address: str, signature: str) -> Iterator[Mapping[str, Any]]:
        yield from self.client.logs(
            address=address,
            topics=[_topic(signature)],
            step=self.log_step,
            from_block=self.from_block,
        )

    def _module_rules(self, address: str, compliance: str) -> tuple[Rule, ...]:
        name = self._module_name(address)
        params: dict[str, Any] = {}
        try:
            params = self._module_params(name, address, compliance)
        except EvmReverted as exc:
            log.warning("module %s at %s: parameters unreadable (%s)", name, address, exc)
            params = {}
        if name in _PARAM_MODULES and not params:
            return (
                OpaqueRule(
                    standard=Standard.ERC3643,
                    name=name,
                    source=address,
                    description=f"{name} at {address}: parameters could not be read",
                ),
            )
        return self.codec.module_rules(name, address, params)

    def _module_params(self, name: str, address: str, compliance: str) -> dict[str, Any]:
        from eth_abi.abi import decode as abi_decode

        if name in ("CountryAllowModule", "CountryRestrictModule"):
            if name == "CountryAllowModule":
                add, remove = "CountryAllowed(address,uint16)", "CountryUnallowed(address,uint16)"
            else:
                add = "AddedRestrictedCountry(address,uint16)"
                remove = "RemovedRestrictedCountry(address,uint16)"
            add_t, remove_t = _topic(add), _topic(remove)
            current: dict[int, bool] = {}
            for entry in self.client.logs(
                address=address,
                topics=[[add_t, remove_t]],
                step=self.log_step,
                from_block=self.from_block,
            ):
                topics = entry["topics"]
                data = bytes(entry["data"])
                if len(topics) > 1:  # compliance indexed
                    who = _addr_from_topic(topics[1])
                    (country,) = abi_decode(["uint16"], data[-32:])
                else:
                    who_raw, country = abi_decode(["address", "uint16"], data)
                    who = Web3.to_checksum_address(who_raw)
                if who != compliance:
                    continue
                current[int(country)] = _topic_hex(topics[0]) == add_t
            codes = sorted(c for c, on in current.items() if on)
            countries = [numeric_to_alpha2(c) for c in codes]
            return {"countries": [c for c in countries if c is not None]}
        if name == "MaxBalanceModule":
            limit = self._max_balance(address, compliance)
            return {"limit": limit} if limit is not None else {}
        if name == "SupplyLimitModule":
            module = self._c("SupplyLimitModule", address)
            return {"limit": int(self._read(module.functions.getSupplyLimit(compliance)))}
        if name == "TimeTransfersLimitsModule":
            module = self._c("TimeTransfersLimitsModule", address)
            limits = self._read(module.functions.getTimeTransferLimits(compliance))
            return {"limits": [(int(w), int(v)) for w, v in limits]}
        if name == "TransferRestrictModule":
            module = self._c("TransferRestrictModule", address)
            users: dict[str, None] = {}
            for signature in ("UserAllowed(address,address)", "UserDisallowed(address,address)"):
                for entry in self._events(address, signature):
                    who_raw, user = abi_decode(["address", "address"], bytes(entry["data"]))
                    if Web3.to_checksum_address(who_raw) == compliance:
                        users[Web3.to_checksum_address(user)] = None
            allowed = [
                u for u in users if self._read(module.functions.isUserAllowed(compliance, u))
            ]
            return {"addresses": sorted(allowed)}
        if name == "TransferFeesModule":
            module = self._c("TransferFeesModule", address)
            rate, collector = self._read(module.functions.getFee(compliance))
            return {"rate": int(rate), "collector": str(collector)}
        if name == "TokenListingRestrictionsModule":
            module = self._c(name, address)
            token = str(
                self._read(self._c("ModularCompliance", compliance).functions.getTokenBound())
            )
            kind = int(self._read(module.functions.getTokenListingType(token)))
            seen: dict[str, None] = {}
            for signature in ("TokenListed(address,address)", "TokenUnlisted(address,address)"):
                for entry in self._events(address, signature):
                    tok, who = abi_decode(["address", "address"], bytes(entry["data"]))
                    if Web3.to_checksum_address(tok) == token:
                        seen[Web3.to_checksum_address(who)] = None
            listed = [
                w for w in seen if self._read(module.functions.getInvestorListingStatus(token, w))
            ]
            return {"listing_type": kind, "listed": sorted(listed)}
        if name in ("TimeExchangeLimitsModule", "ExchangeMonthlyLimitsModule"):
            module = self._c(name, address)
            ids: dict[str, None] = {}
            for signature in ("ExchangeIDAdded(address)", "ExchangeIDRemoved(address)"):
                for entry in self._events(address, signature):
                    (who,) = abi_decode(["address"], bytes(entry["data"]))
                    ids[Web3.to_checksum_address(who)] = None
            exchanges: list[tuple[str, list[tuple[int, int]]]] = []
            for exchange in ids:
                if not self._read(module.functions.isExchangeID(exchange)):
                    continue
                if name == "TimeExchangeLimitsModule":
                    limits = [
                        (int(t), int(v))
                        for t, v in self._read(
                            module.functions.getExchangeLimits(compliance, exchange)
                        )
                    ]
                else:
                    monthly = module.functions.getExchangeMonthlyLimit(compliance, exchange)
                    limits = [(_MONTH, int(self._read(monthly)))]
                exchanges.append((exchange, limits))
            return {"exchanges": exchanges}
        return {"known": name in _PARAM_MODULES}

    def _documents(self, address: str) -> tuple[Document, ...]:
        contract = self.client.contract(address, _DOCS_ABI)
        ok, names = self._try(contract.functions.getAllDocuments())
        if not ok:
            return ()
        docs = []
        for raw_name in names:
            ok, value = self._try(contract.functions.getDocument(raw_name))
            if not ok:
                continue
            uri, doc_hash, _modified = value
            label = bytes(raw_name).rstrip(b"\0").decode("utf-8", "replace") or "document"
            digest = bytes(doc_hash)
            docs.append(
                Document(
                    name=label,
                    uri=str(uri),
                    hash=digest.hex() if any(digest) else None,
                    hash_alg="keccak256" if any(digest) else None,
                )
            )
        return tuple(docs)

    def holding(self, ref: AssetRef, holder: str) -> Holding:
        """One holder's balance split into free and frozen."""
        who = self.client.checked_address(holder, field_name="holder")
        f = self.token(ref).functions
        return self.codec.holding(
            who,
            int(self._read(f.balanceOf(who))),
            int(self._read(f.getFrozenTokens(who))),
            bool(self._read(f.isFrozen(who))),
        )

    def holder_addresses(
        self,
        ref: AssetRef,
        *,
        from_height: int = 0,
        to_height: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[str]:
        """Every address a Transfer / freeze event of the token names, in blocks
        ``[from_height, to_height]`` (to the head by default)."""
        address = self._address_of(ref)
        seen: dict[bytes, None] = {}
        transfer = bytes.fromhex(_T_TRANSFER[2:])
        for topics in log_topics(
            self.client,
            address=address,
            topics=[[_T_TRANSFER, _T_TOKENS_FROZEN, _T_TOKENS_UNFROZEN, _T_ADDRESS_FROZEN]],
            from_block=max(from_height, self.from_block),
            to_block=self.client.head() if to_height is None else to_height,
            step=self.log_step,
            progress=progress,
        ):
            candidates = topics[1:3] if topics[0] == transfer else topics[1:2]
            for topic in candidates:
                seen[topic[-20:]] = None
        seen.pop(bytes(20), None)
        return [checksum_topic(raw) for raw in seen]  # each distinct address checksummed once

    def holders(
        self,
        ref: AssetRef,
        *,
        from_height: int = 0,
        progress: Callable[[int, int], None] | None = None,
    ) -> Iterator[Holding]:
        """Holders with a non-zero balance: addresses from events, balances read in batches.

        ``progress(done, total)`` is called first over blocks scanned, then over addresses read.
        """
        token = self._address_of(ref)
        height = self.client.head()
        addresses = self.holder_addresses(
            ref, from_height=from_height, to_height=height, progress=progress
        )
        total = len(addresses)
        step = max(1, self.batch_size)
        for start in range(0, total, step):
            chunk = addresses[start : start + step]
            calls = [
                (token, fn.encode(who))
                for who in chunk
                for fn in (_BALANCE_OF, _FROZEN_TOKENS, _IS_FROZEN)
            ]
            answers = require_answers(read_batch(self.client, calls, block=height))
            for i, who in enumerate(chunk):
                balance, frozen_tokens, flag = (word_uint(a) for a in answers[3 * i : 3 * i + 3])
                if balance > 0:
                    yield self.codec.holding(who, balance, frozen_tokens, bool(flag))
            if progress is not None:
                progress(min(start + len(chunk), total), total)

    def eligibility(self, ref: AssetRef, wallet: str) -> Eligibility:
        """Registration, identity, country and valid claims of ``wallet``; what is missing."""
        who = self.client.checked_address(wallet, field_name="wallet")
        registry = self._registry(self.token(ref))
        if not self._read(registry.functions.contains(who)):
            return Eligibility(
                asset=ref, wallet=who, eligible=False, missing=("identity_registration",)
            )
        identity = str(self._read(registry.functions.identity(who)))
        numeric = int(self._read(registry.functions.investorCountry(who)))
        verified = bool(self._read(registry.functions.isVerified(who)))
        claims, missing = self._claims(registry, identity)
        investor = Investor(
            identity_ref=identity,
            identity_source=IdentitySource.ONCHAINID,
            wallets=(who,),
            country=numeric_to_alpha2(numeric),
            claims=tuple(claims),
        )
        names = tuple(f"{t.value} (topic {topic})" for topic, t in missing)
        if not verified and not names:
            names = ("claim from a trusted issuer",)
        return Eligibility(
            asset=ref,
            wallet=who,
            eligible=verified,
            investor=investor,
            missing=() if verified else names,
        )

    def _claims(
        self, registry: Contract, identity: str
    ) -> tuple[list[Claim], list[tuple[int, ClaimType]]]:
        topics_registry = self._c(
            "ClaimTopicsRegistry", self._read(registry.functions.topicsRegistry())
        )
        issuers_registry = self._c(
            "TrustedIssuersRegistry", self._read(registry.functions.issuersRegistry())
        )
        required = [int(t) for t in self._read(topics_registry.functions.getClaimTopics())]
        wanted = sorted(set(required) | set(self.codec.topic_map))
        ident = self._c("Identity", identity)
        claims: list[Claim] = []
        valid_topics: set[int] = set()
        for topic in wanted:
            trusted = {
                str(i)
                for i in self._read(
                    issuers_registry.functions.getTrustedIssuersForClaimTopic(topic)
                )
            }
            ok, ids = self._try(ident.functions.getClaimIdsByTopic(topic))
            if not ok:
                continue
            for claim_id in ids:
                _t, _scheme, issuer, signature, data, _uri = self._read(
                    ident.functions.getClaim(claim_id)
                )
                issuer = str(issuer)
                if issuer not in trusted:
                    continue
                checker = self._c("ClaimIssuer", issuer)
                ok, valid = self._try(
                    checker.functions.isClaimValid(identity, topic, signature, data)
                )
                if not (ok and valid):
                    continue
                kind = self.codec.claim_type(topic)
                claims.append(
                    Claim(
                        type=kind,
                        issuer=issuer,
                        topic=topic,
                        custom_name=f"topic {topic}" if kind is ClaimType.CUSTOM else None,
                    )
                )
                valid_topics.add(topic)
        missing = [(t, self.codec.claim_type(t)) for t in required if t not in valid_topics]
        return claims, missing

    # -- the engine's chain facts of a party -------------------------------------------

    def read_party(
        self, ref: AssetRef, wallet: str, party: Party, *, outflows: bool = True
    ) -> Party:
        """``party`` with what the token knows of ``wallet``, for the compliance engine:
        its ONCHAINID (``identity``), whether it is an agent of the token (``token_agent``;
        T-REX's time and exchange limits exempt agents) and, with ``outflows``, every past
        transfer out of any wallet of that identity (``outflows``, each with its landing
        block's time and its recipient's identity -- the wallet where it has none).

        T-REX counts the limits per identity at the time of each transfer: a wallet's
        transfer counts for the identity the registry gave it at that block (read at the
        block; a node that keeps no old state is read at the head instead, with a warning).
        Mints and burns are not transfers (the modules' transfer hook does not see them).
        A party without an identity counts its own wallet's transfers only. The outflows
        replace the party's (the chain has them all); the wallet is set if missing.
        """
        who = self.client.checked_address(wallet, field_name="wallet")
        token = self.token(ref)
        registry = self._registry(token)
        identity = _identity_or_none(self._read(registry.functions.identity(who)))
        update: dict[str, Any] = {
            "identity": identity,
            "token_agent": bool(self._read(token.functions.isAgent(who))),
        }
        if party.wallet is None:
            update["wallet"] = who
        if outflows:
            update["outflows"] = self._outflows(str(token.address), registry, who, identity)
        return party.model_copy(update=update)

    def _block_time(self, block: int) -> int:
        w3 = self.client.w3
        return int(self.client.guard("get block", lambda: w3.eth.get_block(block)["timestamp"]))

    def _outflows(
        self, token: str, registry: Contract, wallet: str, identity: str | None
    ) -> tuple[Outflow, ...]:
        from bridge.compliance.model import Outflow

        ids: dict[tuple[str, int], str | None] = {}
        times: dict[int, datetime] = {}

        def identity_at(address: str, block: int) -> str | None:
            key = (address, block)
            if key not in ids:
                fn = registry.functions.identity(address)
                try:
                    raw = self.client.read(fn, block=block)
                except BridgeError as exc:  # a node without the old state
                    log.warning("identity of %s at block %d unreadable (%s)", address, block, exc)
                    raw = self._read(fn)
                ids[key] = _identity_or_none(raw)
            return ids[key]

        out: list[Outflow] = []
        for entry in self._events(token, "Transfer(address,address,uint256)"):
            sender = _addr_from_topic(entry["topics"][1])
            recipient = _addr_from_topic(entry["topics"][2])
            if int(sender, 16) == 0 or int(recipient, 16) == 0:
                continue  # a mint or a burn
            block = int(entry["blockNumber"])
            counted = (
                sender == wallet if identity is None else identity_at(sender, block) == identity
            )
            if not counted:
                continue
            if block not in times:
                times[block] = datetime.fromtimestamp(self._block_time(block), tz=UTC)
            data = entry["data"]
            raw = bytes(data) if not isinstance(data, str) else bytes.fromhex(data[2:])
            out.append(
                Outflow(
                    at=times[block],
                    amount=int.from_bytes(raw[:32], "big"),
                    to=identity_at(recipient, block) or recipient,
                )
            )
        return tuple(out)

    # -- dry run -----------------------------------------------------------------------

    def transfer_facts(self, intent: TransferIntent, *, at: int | None = None) -> TransferFacts:
        """Read everything T-REX's ``transfer`` checks and its modules' hooks use (nothing
        is sent).

        ``at`` is the block timestamp the transfer is expected to land in; by default the
        earliest the next block can have (the latest block's timestamp + 1). A time
        window that ends later than predicted only makes the chain more permissive, so the
        default never allows what the chain refuses.
        """
        token = self.token(intent.asset)
        f = token.functions
        sender = self.client.checked_address(intent.sender, field_name="sender")
        recipient = self.client.checked_address(intent.recipient, field_name="recipient")
        operator = intent.operator if intent.operator not in (None, sender) else None
        if at is None:
            at = int(self.client.now().timestamp()) + 1
        first = [
            f.identityRegistry(),
            f.compliance(),
            f.paused(),
            f.isFrozen(sender),
            f.isFrozen(recipient),
            f.balanceOf(sender),
            f.getFrozenTokens(sender),
            f.isAgent(sender),
        ]
        if operator is not None:
            first.append(f.allowance(sender, operator))
        values = _values(self.client.read_many(first))
        registry = self._c("IdentityRegistry", values[0])
        compliance = self._c("ModularCompliance", values[1])
        r = registry.functions
        contains, verified_raw, module_list, sender_known, sender_id, recipient_id = _values(
            self.client.read_many(
                [
                    r.contains(recipient),
                    r.isVerified(recipient),
                    compliance.functions.getModules(),
                    r.contains(sender),
                    r.identity(sender),
                    r.identity(recipient),
                ]
            )
        )
        registered = bool(contains)
        verified = registered and bool(verified_raw)
        missing: tuple[tuple[int, ClaimType], ...] = ()
        if registered and not verified:
            _claims, missing_list = self._claims(registry, str(recipient_id))
            missing = tuple(missing_list)
        identities: dict[str, str | None] = {
            sender: _identity_or_none(sender_id),
            recipient: _identity_or_none(recipient_id),
        }
        addresses = [str(a) for a in module_list]
        checks = self.client.read_many(
            [
                self._c("IModule", a).functions.moduleCheck(
                    sender, recipient, intent.amount, compliance.address
                )
                for a in addresses
            ]
        )
        context = _HookContext(
            token=token,
            registry=registry,
            compliance=compliance.address,
            sender=sender,
            recipient=recipient,
            identities=identities,
        )
        names = [self._module_name(a) for a in addresses]
        for address, name in zip(addresses, names, strict=True):
            if name == "TransferFeesModule":  # the fee collector's identity, read first
                fees = self._c("TransferFeesModule", address)
                _rate, collector = self._read(fees.functions.getFee(compliance.address))
                if str(collector) != _ZERO and str(collector) not in identities:
                    identities[str(collector)] = _identity_or_none(
                        self._read(r.identity(str(collector)))
                    )
        modules = []
        for address, name, result in zip(addresses, names, checks, strict=True):
            failed = isinstance(result, EvmReverted)
            modules.append(
                ModuleFacts(
                    address=address,
                    name=name,
                    passed=False if failed else bool(result),
                    check_error=result.revert.describe() if failed else None,
                    state=self._module_state(name, address, context),
                )
            )
        return TransferFacts(
            paused=bool(values[2]),
            sender_frozen=bool(values[3]),
            recipient_frozen=bool(values[4]),
            sender_balance=int(values[5]),
            sender_frozen_tokens=int(values[6]),
            amount=intent.amount,
            recipient_registered=registered,
            recipient_verified=verified,
            missing_claims=missing,
            modules=tuple(modules),
            allowance=int(values[8]) if operator is not None else None,
            recipient_is_zero=recipient == _ZERO,
            sender_registered=bool(sender_known),
            sender=sender,
            recipient=recipient,
            identities=dict(context.identities),
            sender_is_agent=bool(values[7]),
            at=at,
            compliance=compliance.address,
        )

    def _module_state(self, name: str, address: str, ctx: _HookContext) -> dict[str, Any]:
        """What :meth:`Erc3643Codec.derive_refusals` needs of one module beyond its verdict."""
        mc = ctx.compliance
        sender_id = ctx.identities.get(ctx.sender) or _ZERO
        recipient_id = ctx.identities.get(ctx.recipient) or _ZERO
        if name == "MaxBalanceModule":
            module = self._c("MaxBalanceModule", address)
            limit = self._max_balance(address, mc)
            ids = {i for i in ctx.identities.values() if i is not None}
            return {
                "max": limit,
                "balances": {
                    i: int(self._read(module.functions.getIDBalance(mc, i))) for i in sorted(ids)
                },
            }
        if name == "TransferFeesModule":
            module = self._c("TransferFeesModule", address)
            rate, collector = self._read(module.functions.getFee(mc))
            collector = str(collector)
            return {
                "rate": int(rate),
                "collector": collector if collector != _ZERO else ctx.recipient,
                "collector_verified": bool(
                    self._read(ctx.registry.functions.isVerified(collector))
                ),
                "is_agent": bool(self._read(ctx.token.functions.isAgent(address))),
            }
        if name == "TimeTransfersLimitsModule":
            module = self._c("TimeTransfersLimitsModule", address)
            limits = [
                (int(t), int(v)) for t, v in self._read(module.functions.getTimeTransferLimits(mc))
            ]
            counters = {}
            for seconds, _limit in limits:
                value, end = self._read(module.functions.usersCounters(mc, sender_id, seconds))
                counters[seconds] = (int(value), int(end))
            return {"limits": limits, "counters": counters}
        if name in ("TimeExchangeLimitsModule", "ExchangeMonthlyLimitsModule"):
            module = self._c(name, address)
            mf = module.functions
            state: dict[str, Any] = {
                "sender_is_exchange": bool(self._read(mf.isExchangeID(sender_id))),
                "recipient_is_exchange": bool(self._read(mf.isExchangeID(recipient_id))),
            }
            if name == "TimeExchangeLimitsModule":
                limits = [
                    (int(t), int(v)) for t, v in self._read(mf.getExchangeLimits(mc, recipient_id))
                ]
                counters = {}
                for seconds, _limit in limits:
                    value, end = self._read(
                        mf.getExchangeCounter(mc, recipient_id, sender_id, seconds)
                    )
                    counters[seconds] = (int(value), int(end))
                state.update(limits=limits, counters=counters)
            else:
                state.update(
                    limit=int(self._read(mf.getExchangeMonthlyLimit(mc, recipient_id))),
                    count=int(self._read(mf.getMonthlyCounter(mc, recipient_id, sender_id))),
                    timer=int(self._read(mf.getMonthlyTimer(mc, recipient_id, sender_id))),
                )
            return state
        if name == "TokenListingRestrictionsModule":
            module = self._c(name, address)
            return {
                "listing_type": int(
                    self._read(module.functions.getTokenListingType(ctx.token.address))
                )
            }
        return {}

    def _max_balance(self, address: str, compliance: str) -> int | None:
        """MaxBalanceModule's maximum for ``compliance``.

        The module has no getter. T-REX 4.1.6 keeps it in the mapping at storage slot 202;
        the value read there is confirmed by the module's own check (a ``moduleCheck`` to
        an address without identity returns false above the maximum and reverts at or
        below it). If it is not confirmed (another layout), the last ``MaxBalanceSet``
        event is used.
        """
        from eth_abi.abi import encode as abi_encode

        key = Web3.keccak(abi_encode(["address", "uint256"], [compliance, _MAX_BALANCE_SLOT]))
        position = int.from_bytes(bytes(key), "big")
        raw = self.client.guard(
            "eth_getStorageAt",
            lambda: self.client.w3.eth.get_storage_at(cast(Any, address), position),
        )
        guess = int.from_bytes(bytes(raw), "big")
        module = self._c("IModule", address).functions
        above, at_limit = self.client.read_many(
            [
                module.moduleCheck(_ZERO, _ZERO, min(guess + 1, 2**256 - 1), compliance),
                module.moduleCheck(_ZERO, _ZERO, guess, compliance),
            ]
        )
        if (guess == 2**256 - 1 or above is False) and isinstance(at_limit, EvmReverted):
            return guess
        limit: int | None = None
        for entry in self.client.logs(
            address=address,
            topics=[_topic("MaxBalanceSet(address,uint256)")],
            step=self.log_step,
            from_block=self.from_block,
        ):
            if _addr_from_topic(entry["topics"][1]) == compliance:
                limit = int.from_bytes(bytes(entry["topics"][2]), "big")
        return limit

    def check_transfer(
        self, intent: TransferIntent, *, simulate: bool = True, at: int | None = None
    ) -> TransferCheck:
        """Dry run from reads (T-REX's check order, its modules' hooks); nothing is sent.

        ``at``: the block timestamp the transfer is expected to land in (default: the
        latest block's + 1, see :meth:`transfer_facts`). With ``simulate`` the transfer is
        also run as an ``eth_call`` from the sender (or the operator; a contract such as an
        HTLC works too), so the first refusal carries the token's own raw outcome; a revert
        the reads did not predict becomes a refusal of its own (mapped from the message),
        and a refusal the reads predict is kept even when the simulation passes.
        """
        refusals = list(self.codec.derive_refusals(self.transfer_facts(intent, at=at)))
        if simulate:
            revert = self._simulate(intent)
            if revert is not None:
                raw = revert.describe()
                if refusals:
                    refusals[0] = refusals[0].model_copy(update={"raw_message": raw})
                else:
                    log.warning("transfer reverted although reads predicted success: %s", raw)
                    refusals.append(self.codec.refusal(None, raw))
            elif refusals:
                log.info("reads predicted a refusal the simulation did not reproduce")
        return TransferCheck(intent=intent, allowed=not refusals, refusals=tuple(refusals))

    def _simulate(self, intent: TransferIntent) -> RevertInfo | None:
        token = self.token(intent.asset)
        if intent.operator is not None and intent.operator != intent.sender:
            fn = token.functions.transferFrom(intent.sender, intent.recipient, intent.amount)
            caller = intent.operator
        else:
            fn = token.functions.transfer(intent.recipient, intent.amount)
            caller = intent.sender
        try:
            with _caller_can_pay(self.client):
                self.client.call({"from": caller, "to": token.address, "data": _hex(fn)})
        except EvmReverted as exc:
            return exc.revert
        return None

    # -- writes ------------------------------------------------------------------------

    def transfer(
        self, intent: TransferIntent, signer: Signer, *, gas: int | None = None
    ) -> TxReceipt:
        """Send the transfer signed by the sender (or the operator, via ``transferFrom``)."""
        token = self.token(intent.asset)
        if intent.operator is not None and intent.operator != intent.sender:
            caller = intent.operator
            fn = token.functions.transferFrom(intent.sender, intent.recipient, intent.amount)
        else:
            caller = intent.sender
            fn = token.functions.transfer(intent.recipient, intent.amount)
        if signer.address != caller:
            raise InvalidInput("signer", f"must sign for {caller}, signs for {signer.address}")
        return self.client.transact(signer, token.address, _calldata(fn), gas=gas)

    def check_agent_operation(
        self,
        ref: AssetRef,
        capability: Capability,
        agent: str,
        *,
        simulate: bool = True,
        **params: object,
    ) -> AgentOperationCheck:
        """Dry-run an agent operation signed by ``agent`` (parameters as for
        :meth:`agent_operation`); nothing is sent.

        Mint, burn, forced transfer and recovery are judged from reads in T-REX 4.1.6's
        order (agent role; then for a mint the recipient's identity and every module's
        check of an issuance; for a burn and a forced transfer the balance, for a forced
        transfer the recipient's identity; for a recovery the balance to recover, the new
        wallet as a management key of the identity, the registry's agent role for the
        token, the new wallet not registered yet) and then the modules' hooks
        (MaxBalanceModule's accounting, the transfer fee). With ``simulate`` (and for the
        other operations always) the call also runs as an ``eth_call`` from ``agent``;
        its raw revert goes on the first refusal, and a revert the reads did not predict
        becomes a refusal of its own.
        """
        if capability not in self.capabilities:
            raise UnsupportedCapability(self.standard.value, capability.value)
        who = self.client.checked_address(agent, field_name="agent")
        params.pop("gas", None)
        token = self.token(ref)
        target, fn = self._agent_call(token, capability, dict(params))
        shown = {k: v for k, v in params.items() if isinstance(v, str | int | bool)}
        refusals = list(self._agent_refusals(token, capability, who, dict(params)))
        if simulate or capability not in _MODELLED_AGENT_OPS:
            try:
                with _caller_can_pay(self.client):
                    self.client.call({"from": who, "to": target.address, "data": _hex(fn)})
            except EvmReverted as exc:
                raw = exc.revert.describe()
                if refusals:
                    refusals[0] = refusals[0].model_copy(update={"raw_message": raw})
                else:
                    refusals.append(self.codec.refusal(None, raw))
        return AgentOperationCheck(
            asset=ref,
            operation=capability,
            agent=who,
            params=shown,
            allowed=not refusals,
            refusals=tuple(refusals),
        )

    def _agent_refusals(
        self, token: Contract, capability: Capability, agent: str, params: dict[str, object]
    ) -> tuple[Refusal, ...]:
        if capability not in _MODELLED_AGENT_OPS:
            return ()
        f = token.functions
        p = _Params(self.client, params)
        out: list[Refusal] = []

        def add(code: ReasonCode, raw_code: str, message: str, detail: str) -> None:
            out.append(
                Refusal(
                    code=code,
                    source_standard=self.standard,
                    raw_code=raw_code,
                    raw_message=message,
                    detail=detail,
                )
            )

        if not self._read(f.isAgent(agent)):
            add(
                ReasonCode.OPERATOR_NOT_AUTHORIZED,
                "isAgent(caller)=false",
                "AgentRole: caller does not have the Agent role",
                f"{agent} is not an agent of the token",
            )
            return tuple(out)
        registry = self._registry(token)
        compliance = self._compliance(token)
        r = registry.functions
        if capability is Capability.MINT:
            to, amount = p.address("to"), p.amount("amount")
            if not self._read(r.isVerified(to)):
                add(
                    ReasonCode.RECIPIENT_NOT_ELIGIBLE,
                    "identityRegistry.isVerified(to)=false",
                    "Identity is not verified.",
                    f"{to} is not a verified identity",
                )
                return tuple(out)
            facts = self._hook_facts(token, registry, compliance, _ZERO, to, amount)
            for module in facts.modules:
                if not module.passed:
                    code = from_trex_module(module.name)
                    add(
                        code if code is not ReasonCode.UNKNOWN else ReasonCode.TRANSFER_FAILURE,
                        module.name,
                        module.check_error or "Compliance not followed",
                        f"{module.name} at {module.address} refuses the issuance",
                    )
                    return tuple(out)
            if amount == 0:
                add(
                    ReasonCode.TRANSFER_FAILURE,
                    "amount=0",
                    "invalid argument - no value mint",
                    "T-REX's compliance refuses a mint of 0",
                )
                return tuple(out)
            out.extend(self.codec.mint_hook_refusals(facts, to, amount))
        elif capability is Capability.BURN:
            holder, amount = p.address("holder"), p.amount("amount")
            balance = int(self._read(f.balanceOf(holder)))
            if amount > balance:
                add(
                    ReasonCode.INSUFFICIENT_BALANCE,
                    "balanceOf(holder)",
                    "cannot burn more than balance",
                    f"{holder} holds {balance}, asked {amount}",
                )
                return tuple(out)
            if amount == 0:
                add(
                    ReasonCode.TRANSFER_FAILURE,
                    "amount=0",
                    "invalid argument - no value burn",
                    "T-REX's compliance refuses a burn of 0",
                )
                return tuple(out)
            facts = self._hook_facts(token, registry, compliance, holder, _ZERO, amount)
            out.extend(self.codec.burn_hook_refusals(facts, holder, amount))
        elif capability is Capability.FORCED_TRANSFER:
            sender, recipient = p.address("sender"), p.address("recipient")
            amount = p.amount("amount")
            out.extend(
                self._forced_refusals(token, registry, compliance, sender, recipient, amount)
            )
        elif capability is Capability.RECOVERY:
            lost, new = p.address("lost_wallet"), p.address("new_wallet")
            identity = p.address("identity")
            balance = int(self._read(f.balanceOf(lost)))
            if balance == 0:
                add(
                    ReasonCode.INSUFFICIENT_BALANCE,
                    "balanceOf(lost)=0",
                    "no tokens to recover",
                    f"{lost} holds nothing to recover",
                )
                return tuple(out)
            from eth_abi.abi import encode as abi_encode

            key = bytes(Web3.keccak(abi_encode(["address"], [new])))
            ok, has_key = self._try(self._c("Identity", identity).functions.keyHasPurpose(key, 1))
            if not (ok and has_key):
                add(
                    ReasonCode.OPERATOR_NOT_AUTHORIZED,
                    "identity.keyHasPurpose(new, 1)=false",
                    "Recovery not possible",
                    f"{new} is not a management key of identity {identity}",
                )
                return tuple(out)
            if not self._read(r.isAgent(token.address)):
                add(
                    ReasonCode.OPERATOR_NOT_AUTHORIZED,
                    "identityRegistry.isAgent(token)=false",
                    "AgentRole: caller does not have the Agent role",
                    "the token is not an agent of its identity registry: it cannot register "
                    "the new wallet",
                )
                return tuple(out)
            if self._read(r.contains(new)):
                add(
                    ReasonCode.INVALID_RECEIVER,
                    "identityRegistry.contains(new)=true",
                    "address stored already",
                    f"{new} is already registered",
                )
                return tuple(out)
            # the forced transfer then runs with the new wallet registered to ``identity``
            out.extend(
                self._forced_refusals(
                    token, registry, compliance, lost, new, balance, new_identity=identity
                )
            )
        p.done()
        return tuple(out)

    def _forced_refusals(
        self,
        token: Contract,
        registry: Contract,
        compliance: Contract,
        sender: str,
        recipient: str,
        amount: int,
        *,
        new_identity: str | None = None,
    ) -> list[Refusal]:
        out: list[Refusal] = []
        s = self.standard
        balance = int(self._read(token.functions.balanceOf(sender)))
        if amount > balance:
            out.append(
                Refusal(
                    code=ReasonCode.INSUFFICIENT_BALANCE,
                    source_standard=s,
                    raw_code="balanceOf(from)",
                    raw_message="sender balance too low",
                    detail=f"{sender} holds {balance}, asked {amount}",
                )
            )
            return out
        if new_identity is not None:
            verified = self._identity_verified(registry, new_identity)
        else:
            verified = bool(self._read(registry.functions.isVerified(recipient)))
        if not verified:
            out.append(
                Refusal(
                    code=ReasonCode.RECIPIENT_NOT_ELIGIBLE,
                    source_standard=s,
                    raw_code="identityRegistry.isVerified(to)=false",
                    raw_message="Transfer not possible",
                    detail=f"{recipient} is not a verified identity",
                )
            )
            return out
        if amount == 0:
            out.append(
                Refusal(
                    code=ReasonCode.TRANSFER_FAILURE,
                    source_standard=s,
                    raw_code="amount=0",
                    raw_message=_NO_VALUE,
                    detail="T-REX's compliance refuses a transfer of 0",
                )
            )
            return out
        facts = self._hook_facts(
            token, registry, compliance, sender, recipient, amount, new_identity=new_identity
        )
        out.extend(self.codec.hook_refusals(facts))
        return out

    def _identity_verified(self, registry: Contract, identity: str) -> bool:
        """Whether ``identity`` holds every required claim (as isVerified checks a wallet)."""
        _claims, missing = self._claims(registry, identity)
        return not missing

    def _hook_facts(
        self,
        token: Contract,
        registry: Contract,
        compliance: Contract,
        sender: str,
        recipient: str,
        amount: int,
        *,
        new_identity: str | None = None,
    ) -> TransferFacts:
        """The module facts the hooks of a mint / burn / forced transfer need."""
        r = registry.functions
        identities: dict[str, str | None] = {}
        for wallet in (sender, recipient):
            if wallet != _ZERO:
                identities[wallet] = _identity_or_none(self._read(r.identity(wallet)))
        if new_identity is not None:
            identities[recipient] = new_identity
        addresses = [str(a) for a in self._read(compliance.functions.getModules())]
        names = [self._module_name(a) for a in addresses]
        for address, name in zip(addresses, names, strict=True):
            if name == "TransferFeesModule":
                fees = self._c("TransferFeesModule", address)
                _rate, collector = self._read(fees.functions.getFee(compliance.address))
                if str(collector) != _ZERO and str(collector) not in identities:
                    identities[str(collector)] = _identity_or_none(
                        self._read(r.identity(str(collector)))
                    )
        checks = self.client.read_many(
            [
                self._c("IModule", a).functions.moduleCheck(
                    sender, recipient, amount, compliance.address
                )
                for a in addresses
            ]
        )
        context = _HookContext(
            token=token,
            registry=registry,
            compliance=compliance.address,
            sender=sender,
            recipient=recipient,
            identities=identities,
        )
        modules = []
        for address, name, result in zip(addresses, names, checks, strict=True):
            failed = isinstance(result, EvmReverted)
            modules.append(
                ModuleFacts(
                    address=address,
                    name=name,
                    passed=False if failed else bool(result),
                    check_error=result.revert.describe() if failed else None,
                    state=self._module_state(name, address, context)
                    if name in ("MaxBalanceModule", "TransferFeesModule")
                    else {},
                )
            )
        return TransferFacts(
            paused=False,
            sender_frozen=False,
            recipient_frozen=False,
            sender_balance=0,
            sender_frozen_tokens=0,
            amount=amount,
            recipient_registered=True,
            recipient_verified=True,
            modules=tuple(modules),
            sender=sender,
            recipient=recipient,
            identities=identities,
            compliance=compliance.address,
        )

    def agent_operation(
        self, ref: AssetRef, capability: Capability, signer: Signer, **params: object
    ) -> TxReceipt:
        """Run one agent operation (see the module docstring for parameters)."""
        if capability not in self.capabilities:
            raise UnsupportedCapability(self.standard.value, capability.value)
        gas = params.pop("gas", None)
        if gas is not None and (not isinstance(gas, int) or isinstance(gas, bool) or gas <= 0):
            raise InvalidInput("gas", "a positive integer")
        token = self.token(ref)
        target, fn = self._agent_call(token, capability, params)
        return self.client.transact(signer, target.address, _calldata(fn), gas=gas)

    def _agent_call(
        self, token: Contract, capability: Capability, params: dict[str, object]
    ) -> tuple[Contract, Any]:
        f = token.functions
        p = _Params(self.client, params)
        if capability is Capability.MINT:
            call = (token, f.mint(p.address("to"), p.amount("amount")))
        elif capability is Capability.BURN:
            call = (token, f.burn(p.address("holder"), p.amount("amount")))
        elif capability is Capability.PAUSE:
            call = (token, f.pause() if p.flag("paused") else f.unpause())
        elif capability is Capability.ADDRESS_FREEZE:
            call = (token, f.setAddressFrozen(p.address("address"), p.flag("frozen")))
        elif capability is Capability.PARTIAL_FREEZE:
            who, amount = p.address("address"), p.amount("amount")
            freeze = p.flag("freeze", default=True)
            fn = (
                f.freezePartialTokens(who, amount)
                if freeze
                else f.unfreezePartialTokens(who, amount)
            )
            call = (token, fn)
        elif capability is Capability.FORCED_TRANSFER:
            call = (
                token,
                f.forcedTransfer(p.address("sender"), p.address("recipient"), p.amount("amount")),
            )
        elif capability is Capability.RECOVERY:
            call = (
                token,
                f.recoveryAddress(
                    p.address("lost_wallet"), p.address("new_wallet"), p.address("identity")
                ),
            )
        elif capability is Capability.IDENTITY_REGISTRATION:
            registry = self._registry(token)
            call = (
                registry,
                registry.functions.registerIdentity(
                    p.address("wallet"), p.address("identity"), p.country("country")
                ),
            )
        else:  # declared but not mapped: a programming error, still a clean refusal
            raise UnsupportedCapability(self.standard.value, capability.value)
        p.done()
        return call


class _Params:
    """Validation of agent-operation keyword parameters into ``InvalidInput``."""

    def __init__(self, client: EvmClient, params: Mapping[str, object]) -> None:
        self._client = client
        self._params = dict(params)
        self._used: set[str] = set()

    def _get(self, name: str) -> object:
        if name not in self._params:
            raise InvalidInput(name, "is required for this operation")
        self._used.add(name)
        return self._params[name]

    def address(self, name: str) -> str:
        value = self._get(name)
        if not isinstance(value, str):
            raise InvalidInput(name, "an EVM address string", value=value)
        return self._client.checked_address(value, field_name=name)

    def amount(self, name: str) -> int:
        value = self._get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(name, "an integer amount in base units", value=value)
        if value < 0:
            raise InvalidInput(name, "must not be negative", value=value)
        if value >= 2**256:
            raise InvalidInput(name, "must fit a uint256", value=value)
        return value

    def flag(self, name: str, *, default: bool | None = None) -> bool:
        if name not in self._params and default is not None:
            return default
        value = self._get(name)
        if not isinstance(value, bool):
            raise InvalidInput(name, "True or False", value=value)
        return value

    def country(self, name: str) -> int:
        value = self._get(name)
        try:
            return alpha2_to_numeric(str(value))
        except (ValueError, KeyError):
            raise InvalidInput(name, "an ISO 3166-1 alpha-2 country code", value=value) from None

    def done(self) -> None:
        extra = sorted(set(self._params) - self._used)
        if extra:
            raise InvalidInput(extra[0], "is not a parameter of this operation")


_PARAM_MODULES: Final = frozenset(
    {
        "CountryAllowModule",
        "CountryRestrictModule",
        "MaxBalanceModule",
        "SupplyLimitModule",
        "TimeTransfersLimitsModule",
        "TransferRestrictModule",
        "TransferFeesModule",
        "TokenListingRestrictionsModule",
        "TimeExchangeLimitsModule",
        "ExchangeMonthlyLimitsModule",
    }
)


@dataclass
class _HookContext:
    """What the module-state reads of one dry run share."""

    token: Contract
    registry: Contract
    compliance: str
    sender: str
    recipient: str
    identities: dict[str, str | None]


def _identity_or_none(value: Any) -> str | None:
    text = str(value)
    return None if int(text, 16) == 0 else Web3.to_checksum_address(text)


@contextmanager
def _caller_can_pay(client: EvmClient) -> Iterator[None]:
    """Let any address -- a contract such as an HTLC too -- be the caller of an ``eth_call``.

    A node runs ``eth_call`` at gas price 0, so any caller will do. py-evm (the embedded
    backend) refuses a caller that cannot pay for the call's gas at the block's base fee;
    its equivalent of a balance state override: while the call runs, eth-tester's
    call-and-discard step credits the caller inside the state it throws away, so nothing
    persists.
    """
    if client.backend != "pyevm":
        yield
        return
    import eth_tester.backends.pyevm.main as pyevm_main

    original = pyevm_main._execute_and_revert_transaction

    def funded(chain: Any, transaction: Any, block_number: Any = "latest") -> Any:
        vm = pyevm_main._get_vm_for_block_number(chain, block_number)
        state = vm.state
        snapshot = state.snapshot()
        try:
            state.set_balance(transaction.sender, 2**200)
            return state.apply_transaction(transaction)
        finally:
            state.revert(snapshot)

    pyevm_main._execute_and_revert_transaction = funded
    try:
        yield
    finally:
        pyevm_main._execute_and_revert_transaction = original


def _values(answers: Sequence[Any]) -> list[Any]:
    """The answers of ``read_many``; a revert among them is raised (token views never revert)."""
    for answer in answers:
        if isinstance(answer, EvmReverted):
            raise answer
    return list(answers)


def _topic_hex(topic: Any) -> str:
    return "0x" + bytes(topic).hex()


def _calldata(fn_call: Any) -> bytes:
    return bytes.fromhex(str(fn_call._encode_transaction_data()).removeprefix("0x"))


def _hex(fn_call: Any) -> str:
    return str(fn_call._encode_transaction_data())


# ---------------------------------------------------------------------------------------
# registration
# ---------------------------------------------------------------------------------------


def probe(client: EvmClient, address: str) -> bool:
    """True when ``address`` answers T-REX's token views (identity registry, compliance)."""
    token = client.contract(address, load_abi("Token"))
    try:
        registry = client.read(token.functions.identityRegistry())
        compliance = client.read(token.functions.compliance())
        client.read(token.functions.onchainID())
    except BridgeError as exc:
        if exc.transient:
            raise
        return False
    except Exception:  # undecodable answer: not this standard
        return False
    return bool(client.code_at(str(registry))) and bool(client.code_at(str(compliance)))


def _factory(client: EvmClient, **kwargs: Any) -> Erc3643Adapter:
    if not isinstance(client, EvmClient):
        raise InvalidInput("client", "the ERC-3643 adapter needs an adapters.evm EvmClient")
    return Erc3643Adapter(client, **kwargs)


SPEC: Final = AdapterSpec(
    standard=Standard.ERC3643,
    family="evm",
    capabilities=CAPABILITIES,
    factory=_factory,
    probe=probe,
    summary="ERC-3643 / T-REX v4 (ONCHAINID identities, modular compliance)",
    priority=10,
)
"""Registry entry (entry point ``erc3643 = "adapters.evm.erc3643:SPEC"``)."""
