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
native leg plus the lock's fees at the current fee per gas) and :func:`algorand_funds_check`
(the HTLC's own pre-flight: escrow deposit, fees, and the amount of an ALGO leg). A leg
whose sender is short is refused with ``INSUFFICIENT_BALANCE`` naming the order's field,
before anything is locked.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from bridge.errors import InvalidInput
from bridge.model import AssetRef, Refusal, Standard, TransferCheck, TransferIntent
from bridge.reasons import ReasonCode

__all__ = [
    "EVM_NATIVE_LOCK_GAS",
    "DryRun",
    "FundsCheck",
    "algorand_dry_run",
    "algorand_funds_check",
    "erc20_check_batched",
    "evm_dry_run",
    "evm_funds_check",
]

DryRun = Callable[[TransferIntent], TransferCheck]

FundsCheck = Callable[[str, AssetRef | None, str, int], tuple[Refusal, ...]]
"""``(field, asset, sender, amount) -> refusals``: can ``sender`` pay for its lock in the
chain's native coin? ``field`` is the order's leg (``security`` / ``cash``) the refusal
names; ``asset`` None is the native coin itself."""

EVM_NATIVE_LOCK_GAS = 47_589 + 47_589 // 5 + 10_000
"""Gas a native HTLC lock is sent with: its measured use (``adapters.evm.htlc_gas``) plus
the 20 % and 10,000 the client adds to an estimate."""


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


def evm_funds_check(client: Any) -> FundsCheck:
    """A native EVM leg's sender must hold its amount plus the lock's fees (the gas the
    lock is sent with, at the fee per gas the client would offer now)."""

    def run(field: str, asset: AssetRef | None, sender: str, amount: int) -> tuple[Refusal, ...]:
        if asset is not None:
            return ()  # a token leg: the token's own dry run checks the balance
        fees = EVM_NATIVE_LOCK_GAS * int(client.fee_per_gas())  # as the client offers
        held = client.balance(sender)
        if held >= amount + fees:
            return ()
        return (
            Refusal(
                code=ReasonCode.INSUFFICIENT_BALANCE,
                raw_code="SENDER_NATIVE_BALANCE",
                detail=f"{field}.sender {sender} holds {held} wei; {field}.amount {amount} "
                f"plus the lock's fees (up to {fees} wei) needs {amount + fees}",
            ),
        )

    return run


def algorand_funds_check(htlc: Any) -> FundsCheck:
    """The Algorand HTLC's own funding pre-flight (``AlgorandHtlc.preflight``): the
    sender's microalgos must cover the escrow's deposit, the lock's fees and, for an ALGO
    leg, the amount. Other pre-flight items (opt-ins, token balances) are the dry run's."""

    def run(field: str, asset: AssetRef | None, sender: str, amount: int) -> tuple[Refusal, ...]:
        from algosdk.encoding import encode_address

        terms = htlc.terms_for(
            asset=asset,
            sender=sender,
            receiver=encode_address(bytes(32)),  # type: ignore[no-untyped-call]  # only funding is read
            amount=amount,
            hashlock=bytes(32),
            deadline=2**32,
        )
        found = htlc.preflight(terms).missing
        return tuple(
            refusal.model_copy(
                update={"detail": f"{field}.sender: {refusal.detail} ({field}.amount {amount})"}
            )
            for refusal in found
            if refusal.raw_code == "SENDER_ALGOS"
        )

    return run
