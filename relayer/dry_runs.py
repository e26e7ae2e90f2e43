"""The tokens' own transfer checks, as the relayer runs them before every lock and claim.

The daemon and the tests wire the same functions: a chain runtime's ``dry_run`` is built
here for every standard of its chain family, so the pre-reveal re-check runs the token's
rules (freezes, identity and claims, country and balance modules, partitions, ibet
approval flows, regulated-ASA whitelists and KYC expiry) and not only the law.

- EVM: the token's standard is the leg's, or detected once per token (ERC-165 and the
  registry's probes, :func:`adapters.evm.inspect.detect_standard`); its adapter's
  ``check_transfer`` answers. T-REX is checked by its reads (the escrow holds no coin to
  pay for a simulated call).
- Algorand: the regulated-ASA adapter for an asset bound to a compliance application
  (``app_id`` on the locator), the plain ASA adapter otherwise.

Before a lock the relayer also checks that each leg's sender can pay for it in the chain's
native coin (a token dry run cannot see that): :func:`evm_funds_check` (the amount of a
native leg plus the lock's fees; for a token leg the gas of its approval, when the
allowance is short, and of its lock; at the current fee per gas) and
:func:`algorand_funds_check` (the HTLC's own pre-flight: escrow deposit, fees, and the
amount of an ALGO leg, above the sender's minimum balance). A leg whose sender is short is
refused with ``INSUFFICIENT_BALANCE`` naming the order's field, before anything is locked.

The relayer runs these checks with a *hold* (:mod:`relayer.reservations`): the lock's cost
is recorded for its swap, and the sender must also pay for what its other swaps in flight
hold (their locks not yet mined), in native coin and in units of the same token; the
module docstring there says why that never admits what cannot be paid nor refuses for good
what can.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Protocol

from bridge.errors import BridgeError, InvalidInput, TransientError
from bridge.model import AssetRef, Refusal, Standard, TransferCheck, TransferIntent
from bridge.reasons import ReasonCode
from relayer.reservations import NOTHING_IN_FLIGHT, FundsHold, InFlight, LockCost, asset_key

__all__ = [
    "EVM_APPROVE_GAS",
    "EVM_NATIVE_LOCK_GAS",
    "EVM_TOKEN_LOCK_GAS",
    "EVM_TOKEN_LOCK_OVERHEAD",
    "GAS_REFRESH_EVERY",
    "SLOT_SET_EXTRA",
    "STORAGE_SET_MARGIN",
    "DryRun",
    "EvmFundsCheck",
    "FundsCheck",
    "GasBook",
    "SendLimits",
    "algorand_dry_run",
    "algorand_funds_check",
    "approve_gas_limit",
    "erc20_check_batched",
    "evm_dry_run",
    "evm_estimate",
    "evm_fee_per_gas",
    "evm_funds_check",
    "evm_gas_refusal",
    "evm_token_lock_gas",
    "sent_limit",
]

DryRun = Callable[[TransferIntent], TransferCheck]


class FundsCheck(Protocol):
    """``(field, asset, sender, amount) -> refusals``: can ``sender`` pay for its lock in the
    chain's native coin? ``field`` is the order's leg (``security`` / ``cash``) the refusal
    names; ``asset`` None is the native coin itself.

    With ``hold`` (:class:`relayer.reservations.LegHold`) the lock's cost is recorded as
    the leg's hold first, and the sender must pay for it **and** for what its other swaps
    in flight still hold (their locks not yet mined): their coin and gas, and their units
    of the same token. ``at`` is the height the relayer's records of the chain reach (its
    watcher's head): an EVM check reads the balances there, where those records say which
    of the other locks have spent already; None reads the latest."""

    def __call__(
        self,
        field: str,
        asset: AssetRef | None,
        sender: str,
        amount: int,
        /,
        *,
        hold: FundsHold | None = None,
        at: int | None = None,
    ) -> tuple[Refusal, ...]:
        """The refusals (none: the sender can pay)."""


EVM_NATIVE_LOCK_GAS = 47_589 + 47_589 // 5 + 10_000
"""Gas a native HTLC lock is sent with: its measured use (``adapters.evm.htlc_gas``) plus
the 20 % and 10,000 the client adds to an estimate."""

EVM_TOKEN_LOCK_OVERHEAD = 60_000
"""Gas a token lock takes beyond the token's own transfer to the HTLC (the lock's storage
and event, ``transferFrom``'s allowance): about 30,000 measured for our CashToken (a
transfer estimated at 65,497, the lock at 95,826, py-evm), doubled."""

EVM_TOKEN_LOCK_GAS = 400_000
"""The lock's gas when the token's transfer cannot be estimated (a T-REX transfer with its
compliance modules stays well below it)."""

EVM_APPROVE_GAS = 100_000
"""An ERC-20 approval's gas limit when it cannot be estimated (about 51,000 measured)."""


def evm_dry_run(client: Any) -> DryRun:
    """Every EVM token's own check on ``client`` (an ``EvmClient``), adapter found once per
    token."""
    from adapters.evm.inspect import detect_standard

    adapters: dict[str, tuple[Standard, Any]] = {}

    def run(intent: TransferIntent) -> TransferCheck:
        locator = intent.asset.locator
        if locator.kind != "evm_contract":
            raise InvalidInput("asset", "an EVM token dry run needs an EVM contract asset")
        key = locator.address.lower()
        if key not in adapters:
            spec = detect_standard(client, locator.address)
            adapters[key] = (spec.standard, spec.factory(client))
        standard, adapter = adapters[key]
        if standard is Standard.ERC3643:
            return adapter.check_transfer(intent, simulate=False)  # type: ignore[no-any-return]
        if standard is Standard.ERC20 and _batchable(client, adapter):
            return erc20_check_batched(adapter, intent)
        return adapter.check_transfer(intent)  # type: ignore[no-any-return]

    return run


def _batchable(client: Any, adapter: Any) -> bool:
    """Whether ``adapter`` is the ERC-20 adapter's own check on a node (py-evm has no round
    trip to save; a subclass may check otherwise)."""
    from adapters.evm.erc20 import Erc20Adapter

    return (
        getattr(client, "backend", None) == "rpc"
        and isinstance(adapter, Erc20Adapter)
        and type(adapter).check_transfer is Erc20Adapter.check_transfer
    )


@lru_cache(maxsize=1)
def _erc20_views() -> tuple[Any, Any, Any, Any]:
    """paused, isBlocked, allowance, balanceOf: selectors hashed once (web3 imported late)."""
    from adapters.evm.batch import ViewCall

    return (
        ViewCall("paused()", ("bool",)),
        ViewCall("isBlocked(address)", ("bool",)),
        ViewCall("allowance(address,address)"),
        ViewCall("balanceOf(address)"),
    )


def erc20_check_batched(adapter: Any, intent: TransferIntent) -> TransferCheck:
    """``Erc20Adapter.check_transfer(intent)`` with its reads in one JSON-RPC batch.

    The adapter asks the head, then each of its four to six reads one request at a time at
    that height (six round trips, four such checks per swap). Here the same reads (the
    sender's balance, and for stbridge's CashToken the pause and the blocklist flags of
    sender, recipient and spender; a spender's allowance) go in one batch at the latest
    block, and the refusals come out in the adapter's order with its words (an agreement
    test runs both on the same chain: ``tests/integration/test_bench_dry_runs.py``).
    """
    from adapters.evm.batch import word_uint
    from adapters.evm.erc20 import ZERO_ADDRESS

    paused_call, blocked_call, allowance_call, balance_call = _erc20_views()
    address = adapter.locate(intent.asset)
    sender = adapter.evm_address(intent.sender, "sender")
    recipient = adapter.evm_address(intent.recipient, "recipient")
    operator = (
        adapter.evm_address(intent.operator, "operator") if intent.operator is not None else None
    )
    if intent.partition is not None:
        raise InvalidInput("partition", "an ERC-20 token has no partitions")
    adapter.require_token(address)
    cash = adapter.is_cash_token(address)
    spender = operator if operator is not None and operator != sender else None
    names: list[str] = []
    calls: list[tuple[str, bytes]] = []

    def ask(name: str, data: bytes) -> None:
        names.append(name)
        calls.append((address, data))

    if spender is not None:
        if cash:
            ask("spender_blocked", blocked_call.encode(spender))
        ask("allowance", allowance_call.encode(sender, spender))
    if cash:
        ask("paused", paused_call.encode())
        ask("sender_blocked", blocked_call.encode(sender))
        if recipient != ZERO_ADDRESS:
            ask("recipient_blocked", blocked_call.encode(recipient))
    ask("balance", balance_call.encode(sender))
    answers = adapter.client.batch_read(calls, batch_size=len(calls))
    got: dict[str, int] = {}
    for name, answer in zip(names, answers, strict=True):
        if not isinstance(answer, bytes):
            raise answer  # a revert of a view call: as the adapter's own read raises it
        got[name] = word_uint(answer)
    refusals: list[Refusal] = []

    def refuse(error: str, message: str) -> None:
        refusals.append(adapter.refusal(error, message))

    if spender is not None:
        if got.get("spender_blocked"):
            refuse("AccountBlocked", f"AccountBlocked({spender}): the spender is blocked")
        if got["allowance"] < intent.amount:
            refuse(
                "ERC20InsufficientAllowance",
                f"ERC20InsufficientAllowance({spender}, {got['allowance']}, {intent.amount})",
            )
    if recipient == ZERO_ADDRESS:
        refuse("ERC20InvalidReceiver", f"ERC20InvalidReceiver({ZERO_ADDRESS})")
    if got.get("paused"):
        refuse("EnforcedPause", "EnforcedPause(): the coin is paused")
    if got.get("sender_blocked"):
        refuse("AccountBlocked", f"AccountBlocked({sender}): the sender is blocked")
    if got.get("recipient_blocked"):
        refuse("AccountBlocked", f"AccountBlocked({recipient}): the recipient is blocked")
    if got["balance"] < intent.amount:
        refuse(
            "ERC20InsufficientBalance",
            f"ERC20InsufficientBalance({sender}, {got['balance']}, {intent.amount})",
        )
    return TransferCheck(intent=intent, allowed=not refusals, refusals=tuple(refusals))


def algorand_dry_run(chain: Any) -> DryRun:
    """Every ASA's own check on ``chain`` (an ``AlgodChain``): regulated or plain."""
    from adapters.algorand.asa import AsaAdapter
    from adapters.algorand.regulated import RegulatedAsaAdapter

    plain, regulated = AsaAdapter(chain), RegulatedAsaAdapter(chain)

    def run(intent: TransferIntent) -> TransferCheck:
        locator = intent.asset.locator
        if locator.kind != "algorand_asa":
            raise InvalidInput("asset", "an Algorand dry run needs an ASA asset")
        adapter = regulated if locator.app_id is not None else plain
        return adapter.check_transfer(intent)

    return run


def evm_fee_per_gas(client: Any) -> int:
    """The most the client offers per gas now (``maxFeePerGas``, or the legacy gas price)."""
    return int(client.fee_per_gas())


def evm_estimate(client: Any, sender: str, fn_call: Any) -> int | None:
    """``eth_estimateGas`` of ``fn_call`` sent by ``sender``, or None when the node cannot
    estimate it (a revert, or py-evm asking the sender to afford a block's gas): the caller
    then takes its bound. An unreachable node raises (``TransientError``)."""
    tx = {"from": sender, "to": str(fn_call.address), "data": fn_call._encode_transaction_data()}
    try:
        return int(client.estimate(tx))
    except TransientError:
        raise
    except BridgeError:
        return None


def sent_limit(estimate: int | None, bound: int) -> int:
    """The gas limit the client sends a transaction with: an estimate plus a fifth and
    10,000 (``EvmClient.build_tx``), or ``bound`` when there is no estimate."""
    return bound if estimate is None else estimate + estimate // 5 + 10_000


def evm_gas_refusal(
    client: Any,
    field: str,
    sender: str,
    gas: int,
    what: str,
    *,
    value: int = 0,
    others: InFlight = NOTHING_IN_FLIGHT,
    at: int | None = None,
) -> tuple[Refusal, ...]:
    """``INSUFFICIENT_BALANCE`` naming ``field`` when ``sender`` holds less native coin (at
    height ``at``; None: the latest) than ``value`` plus ``gas`` at the fee per gas the
    client would offer now, plus what its ``others`` swaps in flight hold (their coin, and
    their gas at that fee)."""
    fee_per_gas = evm_fee_per_gas(client)
    fees = gas * fee_per_gas
    held_by_others = others.coin + others.gas * fee_per_gas
    held = int(client.balance(sender) if at is None else client.balance(sender, block=at))
    need = value + fees + held_by_others
    if held >= need:
        return ()
    detail = f"{field}.sender {sender} holds {held} wei; {what} (up to {fees} wei) needs "
    if others.swaps:
        detail += (
            f"{value + fees}, and its {others.swaps} other swaps in flight (admitted, their "
            f"locks not yet mined) hold {held_by_others}: needs {need}"
        )
    else:
        detail += str(need)
    return (
        Refusal(
            code=ReasonCode.INSUFFICIENT_BALANCE, raw_code="SENDER_NATIVE_BALANCE", detail=detail
        ),
    )


def _token_refusal(
    field: str, sender: str, token: str, held: int, amount: int, others: InFlight, unit: str
) -> tuple[Refusal, ...]:
    """``INSUFFICIENT_BALANCE`` naming ``field`` when ``sender``'s ``held`` units of
    ``token`` do not cover ``amount`` and the units its other swaps in flight hold of it."""
    need = amount + others.token
    if held >= need:
        return ()
    return (
        Refusal(
            code=ReasonCode.INSUFFICIENT_BALANCE,
            raw_code="SENDER_TOKEN_BALANCE",
            detail=f"{field}.sender {sender} holds {held} {unit} of {token}; {field}.amount "
            f"{amount}, and its {others.token_swaps} other swaps in flight hold {others.token} "
            f"(admitted, their locks not yet mined): needs {need}",
        ),
    )


@lru_cache(maxsize=1)
def _erc20_calls() -> tuple[Any, Any, Any]:
    """ERC-20 ``allowance``, ``approve`` and ``transfer``, selectors hashed once (imported
    here: web3 loads only where an EVM chain is configured)."""
    from adapters.evm.batch import ViewCall

    return (
        ViewCall("allowance(address,address)"),
        ViewCall("approve(address,uint256)", ("bool",)),
        ViewCall("transfer(address,uint256)", ("bool",)),
    )


def _estimate_data(client: Any, sender: str, to: str, data: bytes) -> int | None:
    """:func:`evm_estimate` of calldata already encoded."""
    try:
        return int(client.estimate({"from": sender, "to": to, "data": "0x" + data.hex()}))
    except TransientError:
        raise
    except BridgeError:
        return None


GAS_REFRESH_EVERY = 64
"""A cached estimate of a token's function is taken again after this many uses (the book
keeps the highest seen): the state a token's gas depends on drifts as swaps settle."""

SLOT_SET_EXTRA = 22_100 - 5_000
"""How much more setting an empty storage slot costs than changing a held one (cold, after
EIP-2929 / EIP-3529): a call estimated while its slots held values can later find them
empty."""

STORAGE_SET_MARGIN = 4 * SLOT_SET_EXTRA
"""Gas a kept estimate of a token's transfer is raised by: four slots, the sender's and
the HTLC's balances and, for T-REX, the compliance modules' two per-identity balances."""


def approve_gas_limit(estimate: int) -> int:
    """The gas limit an approval of the HTLC is sent with from a kept estimate (the relayer
    estimates a token's approval once, :func:`relayer.evm.prepare_token_lock`), and the
    funds check's bound for it: a third and 10,000 more, plus one slot set from empty (the
    allowance), and at least :data:`EVM_APPROVE_GAS`."""
    return max(estimate + estimate // 3 + 10_000 + SLOT_SET_EXTRA, EVM_APPROVE_GAS)


class GasBook:
    """Estimates of a token's functions kept per (token, function): the funds check of a
    thousand swaps of one token asks the node once, not a thousand times (on py-evm an
    ``eth_estimateGas`` of a T-REX transfer re-runs it about eight times, 55 % of an
    embedded bench run).

    Each entry is the highest estimate seen, taken again after :data:`GAS_REFRESH_EVERY`
    uses; a failed estimate (a revert, or py-evm asking the sender to afford a block's gas)
    is not kept. ``estimates`` counts the estimates asked (the bench and the tests read it).
    """

    def __init__(self, refresh_every: int = GAS_REFRESH_EVERY) -> None:
        self.refresh_every = refresh_every
        self.estimates = 0
        self._entries: dict[tuple[str, str], tuple[int, int]] = {}

    def estimate(self, client: Any, sender: str, token: str, name: str, data: bytes) -> int | None:
        """The highest estimate of the call of ``token``'s function ``name`` (calldata
        ``data``) seen (estimated now when none is kept, or when the kept one was used
        ``refresh_every`` times), None when the node cannot estimate it and none is kept."""
        key = (token.lower(), name)
        kept = self._entries.get(key)
        if kept is not None and kept[1] < self.refresh_every:
            self._entries[key] = (kept[0], kept[1] + 1)
            return kept[0]
        self.estimates += 1
        fresh = _estimate_data(client, sender, token, data)
        if fresh is None:
            return None if kept is None else kept[0]
        best = fresh if kept is None else max(fresh, kept[0])
        self._entries[key] = (best, 1)
        return best


def _allowance(client: Any, token: str, sender: str, escrow: str, at: int | None) -> int:
    """``token.allowance(sender, escrow)`` at height ``at`` (None: the latest); 0 when the
    token does not answer."""
    allowance_of, _, _ = _erc20_calls()  # encoded by hand, no web3 object
    tx = {"to": token, "data": "0x" + allowance_of.encode(sender, escrow).hex()}
    try:
        answer = client.call(tx) if at is None else client.call(tx, block=at)
    except TransientError:
        raise
    except BridgeError:
        return 0
    return int.from_bytes(answer[:32], "big") if len(answer) >= 32 else 0


def _allowance_and_balance(
    client: Any, token: str, sender: str, escrow: str, at: int | None
) -> tuple[int, int | None]:
    """The allowance (:func:`_allowance`) and, on a node, ``token.balanceOf(sender)`` in the
    same JSON-RPC batch (one round trip; the holds may need the balance); py-evm answers
    the allowance alone (a balance is read there only when needed)."""
    if getattr(client, "backend", None) != "rpc":
        return _allowance(client, token, sender, escrow, at), None
    allowance_of, _, _ = _erc20_calls()
    _, _, _, balance_of = _erc20_views()
    answers = client.batch_read(
        [(token, allowance_of.encode(sender, escrow)), (token, balance_of.encode(sender))],
        batch_size=2,
        block=at,
    )
    words = [
        int.from_bytes(a[:32], "big") if isinstance(a, bytes) and len(a) >= 32 else None
        for a in answers
    ]
    return (0 if words[0] is None else words[0]), words[1]  # a balance unanswered: read later


def evm_token_lock_gas(
    client: Any,
    escrow: str,
    token: str,
    sender: str,
    amount: int,
    *,
    book: GasBook | None = None,
    allowance: int | None = None,
    limits: SendLimits | None = None,
) -> tuple[int, str]:
    """The gas ``sender`` pays to lock ``amount`` of the ERC-20-like ``token`` in the HTLC
    at ``escrow``, and what it pays for: the approval when its allowance is short (estimated,
    or :data:`EVM_APPROVE_GAS`), and the lock, sent with the HTLC's cached limit (its
    estimate plus a third and 10,000), the lock estimated as the token's own transfer to the
    HTLC plus :data:`EVM_TOKEN_LOCK_OVERHEAD` (or :data:`EVM_TOKEN_LOCK_GAS` when the
    transfer cannot be estimated).

    With ``book`` the estimates come from it (one per token and function, not one per
    call) and are raised to stay safe where a fresh estimate would not be needed: the
    approval to the limit the relayer sends it with (:func:`approve_gas_limit`), the
    transfer by :data:`STORAGE_SET_MARGIN` (the most a different state of the same token's
    slots adds). ``allowance`` is the allowance to count with (None: read it now).

    With ``limits`` (:class:`SendLimits`) a send the relayer makes on a kept gas limit
    counts that limit, exactly the gas it will carry, and nothing is estimated for it."""
    _, approve_of, transfer_of = _erc20_calls()
    if allowance is None:
        allowance = _allowance(client, token, sender, escrow, None)
    gas, what = 0, "the gas of the lock"
    if allowance < amount:
        approve_data = approve_of.encode(escrow, amount)
        kept = None if limits is None else limits.approval(token)
        if kept is not None:
            gas += kept
        elif book is None:
            approve = _estimate_data(client, sender, token, approve_data)
            gas += sent_limit(approve, EVM_APPROVE_GAS)
        else:
            approve = book.estimate(client, sender, token, "approve", approve_data)
            gas += EVM_APPROVE_GAS if approve is None else approve_gas_limit(approve)
        what = f"the gas of the approval (allowance {allowance} < {amount}) and the lock"
    kept_lock = None if limits is None else limits.lock(token)
    if kept_lock is not None:
        return gas + kept_lock, what
    transfer_data = transfer_of.encode(escrow, amount)
    if book is None:
        transfer = _estimate_data(client, sender, token, transfer_data)
    else:
        transfer = book.estimate(client, sender, token, "transfer", transfer_data)
        if transfer is not None:
            transfer += STORAGE_SET_MARGIN
    lock = EVM_TOKEN_LOCK_GAS if transfer is None else transfer + EVM_TOKEN_LOCK_OVERHEAD
    return gas + lock + lock // 3 + 10_000, what


@dataclass(frozen=True)
class SendLimits:
    """The gas limits the relayer's own sends of a token leg carry, where they are kept: the
    lock's, kept by the HTLC port the relayer sends through (``EvmHtlc.kept_gas``, None while
    the port would estimate it), and the approval's per token (``approvals``, filled by
    :func:`relayer.evm.prepare_token_lock`, which sends every approval after the first with
    it). ``port`` None: no lock limit is known."""

    port: Any = None
    approvals: MutableMapping[str, int] = field(default_factory=dict)

    def lock(self, token: str) -> int | None:
        """The gas limit the lock of ``token`` goes out with, if kept."""
        kept = getattr(self.port, "kept_gas", None)
        return None if kept is None else kept("lockToken", token)

    def approval(self, token: str) -> int | None:
        """The gas limit the approval of ``token`` goes out with, if kept."""
        return self.approvals.get(token.lower())


@dataclass(frozen=True)
class EvmFundsCheck:
    """An EVM chain's :class:`FundsCheck` (:func:`evm_funds_check`).

    ``limits``: the relayer's kept send limits (:class:`SendLimits`), counted where known
    instead of estimates; :meth:`with_port` follows the relayer to the HTLC port it sends
    through (its copy bound to the watcher's records, which keeps the locks' limits)."""

    client: Any
    escrow: str | None = None
    book: GasBook = field(default_factory=GasBook)
    limits: SendLimits | None = None

    def with_port(self, htlc: Any) -> EvmFundsCheck:
        """This check, counting the lock limits ``htlc`` keeps."""
        if self.limits is None:
            return self
        return replace(self, limits=replace(self.limits, port=htlc))

    def __call__(
        self,
        field: str,
        asset: AssetRef | None,
        sender: str,
        amount: int,
        /,
        *,
        hold: FundsHold | None = None,
        at: int | None = None,
    ) -> tuple[Refusal, ...]:
        """The refusals (none: the sender can pay), see :func:`evm_funds_check`."""
        client, escrow, kept = self.client, self.escrow, self.book
        others = NOTHING_IN_FLIGHT
        if asset is None:
            what = f"{field}.amount {amount} plus the lock's fees"
            if hold is not None:
                others = hold.hold(LockCost(gas=EVM_NATIVE_LOCK_GAS, coin=amount), at)
            return evm_gas_refusal(
                client,
                field,
                sender,
                EVM_NATIVE_LOCK_GAS,
                what,
                value=amount,
                others=others,
                at=at if hold is not None else None,
            )
        if escrow is None or asset.locator.kind != "evm_contract":
            return ()
        token = asset.locator.address
        balance: int | None = None
        if hold is None:
            allowance = _allowance(client, token, sender, escrow, None)
        else:
            allowance, balance = _allowance_and_balance(client, token, sender, escrow, at)
        gas, what = evm_token_lock_gas(
            client,
            escrow,
            token,
            sender,
            amount,
            book=kept,
            allowance=allowance,
            limits=self.limits,
        )
        if hold is not None:
            key = asset_key(asset)
            others = hold.hold(LockCost(gas=gas, token=amount, asset=key), at)
            if amount <= allowance < amount + others.token:
                # the other locks take the allowance first: this one approves again
                left = max(allowance - others.token, 0)
                gas, what = evm_token_lock_gas(
                    client,
                    escrow,
                    token,
                    sender,
                    amount,
                    book=kept,
                    allowance=left,
                    limits=self.limits,
                )
                others = hold.hold(LockCost(gas=gas, token=amount, asset=key), at)
        refusals = evm_gas_refusal(
            client,
            field,
            sender,
            gas,
            f"{what} of {field}.amount {amount}",
            others=others,
            at=at if hold is not None else None,
        )
        if others.token:
            if balance is None:
                _, _, _, balance_call = _erc20_views()
                tx = {"to": token, "data": "0x" + balance_call.encode(sender).hex()}
                answer = client.call(tx) if at is None else client.call(tx, block=at)
                balance = int.from_bytes(answer[:32], "big") if len(answer) >= 32 else 0
            refusals += _token_refusal(field, sender, token, balance, amount, others, "units")
        return refusals


def evm_funds_check(
    client: Any,
    escrow: str | None = None,
    *,
    book: GasBook | None = None,
    limits: SendLimits | None = None,
) -> EvmFundsCheck:
    """A leg's sender must hold the native coin for its lock: a native leg its amount plus
    the lock's fees (the gas the lock is sent with, at the fee per gas the client would
    offer now); a token leg the gas of its approval of the HTLC at ``escrow`` (when the
    allowance is short) and of its lock (:func:`evm_token_lock_gas`: the relayer's kept
    send ``limits`` where known, else its estimates kept in ``book``, a new one when
    None). The token's own balance is its dry run's (the hop into the escrow).

    With a ``hold`` (:class:`FundsCheck`) the sender must also pay for what its other
    swaps in flight hold, read at height ``at``: their amounts and gas in native coin, and
    for a token leg their units of the token (its ``balanceOf`` must cover them and this
    amount); an allowance they will take first is not counted for this lock."""
    return EvmFundsCheck(
        client=client, escrow=escrow, book=GasBook() if book is None else book, limits=limits
    )


def algorand_funds_check(htlc: Any) -> FundsCheck:
    """The Algorand HTLC's own funding pre-flight (``AlgorandHtlc.preflight``): the
    sender's microalgos must cover the escrow's deposit, the lock's fees and, for an ALGO
    leg, the amount. Other pre-flight items (opt-ins, token balances) are the dry run's.

    With a ``hold`` (:class:`FundsCheck`) the sender's microalgos above its minimum
    balance must also cover what its other swaps in flight hold (each open lock's deposit
    and fees, and ALGO amounts), and its units of an ASA their units of it: read at the
    latest round (algod has no older state), at which every lock the relayer knows of is
    already counted out (``at`` is not used)."""

    def run(
        field: str,
        asset: AssetRef | None,
        sender: str,
        amount: int,
        /,
        *,
        hold: FundsHold | None = None,
        at: int | None = None,
    ) -> tuple[Refusal, ...]:
        from algosdk.encoding import encode_address

        from adapters.algorand.htlc import MIN_FEE, HtlcKind

        terms = htlc.terms_for(
            asset=asset,
            sender=sender,
            receiver=encode_address(bytes(32)),  # type: ignore[no-untyped-call]  # only funding is read
            amount=amount,
            hashlock=bytes(32),
            deadline=2**32,
        )
        found = htlc.preflight(terms).missing
        alone = tuple(
            refusal.model_copy(
                update={"detail": f"{field}.sender: {refusal.detail} ({field}.amount {amount})"}
            )
            for refusal in found
            if refusal.raw_code == "SENDER_ALGOS"
        )
        if hold is None:
            return alone
        native = terms.kind is HtlcKind.ALGO
        # the pre-flight's own sum (AlgorandHtlc.preflight): deposit, four fees, an ALGO amount
        need = terms.deposit + (amount if native else 0) + 4 * MIN_FEE
        key = asset_key(asset)
        others = hold.hold(LockCost(coin=need, token=0 if native else amount, asset=key), None)
        if alone or not others.swaps:
            return alone
        refusals: tuple[Refusal, ...] = ()
        spendable = int(htlc.chain.spendable_algos(sender))
        if spendable < need + others.coin:
            refusals += (
                Refusal(
                    code=ReasonCode.INSUFFICIENT_BALANCE,
                    raw_code="SENDER_ALGOS",
                    detail=f"{field}.sender {sender} holds {spendable} microalgos above its "
                    f"minimum balance; the lock of {field}.amount {amount} needs {need} "
                    f"(escrow deposit and fees), and its {others.swaps} other swaps in flight "
                    f"(admitted, their locks not yet mined) hold {others.coin}: needs "
                    f"{need + others.coin}",
                ),
            )
        if others.token and asset is not None and asset.locator.kind == "algorand_asa":
            held = int(htlc.chain.holding(sender, asset.locator.asset_id).amount)
            refusals += _token_refusal(
                field, sender, f"asset {asset.locator.asset_id}", held, amount, others, "units"
            )
        return refusals

    return run
