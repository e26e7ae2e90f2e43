"""EVM helpers the relayer's composition root needs (kept out of the chain-agnostic service)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Final

from adapters.evm.batch import ViewCall
from adapters.evm.client import EvmClient, EvmReverted
from adapters.evm.htlc import EvmHtlc
from bridge.errors import ApprovalPending, InvalidInput
from bridge.htlc import ChainTiming
from bridge.model import TransferCheck, TransferIntent
from bridge.ports import Signer
from bridge.swap import Leg
from relayer.dry_runs import SendLimits, approve_gas_limit, evm_dry_run, evm_funds_check
from relayer.party_facts import evm_party_reader
from relayer.pipeline import is_pipelined
from relayer.service import ChainRuntime

__all__ = ["ERC20_APPROVE_ABI", "approve_for_htlc", "evm_runtime", "prepare_token_lock"]

ERC20_APPROVE_ABI: Final[list[dict[str, Any]]] = [
    {
        "type": "function",
        "name": "approve",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "spender", "type": "address"}, {"name": "value", "type": "uint256"}],
        "outputs": [{"name": "", "type": "bool"}],
    },
    {
        "type": "function",
        "name": "allowance",
        "stateMutability": "view",
        "inputs": [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    },
]


def approve_for_htlc(client: EvmClient, htlc: str, leg: Leg, signer: Signer) -> None:
    """Let the HTLC pull the leg's amount from ``signer`` if needed: an ERC-20 ``approve``
    for a plain token leg; for a partition leg (ERC-1400) an ``approveByPartition`` of that
    partition, which ``lockPartition``'s ``operatorTransferByPartition`` spends (an ERC-20
    allowance does not let the HTLC move partition units). The allowance is read first and
    approved only when short."""
    if leg.asset is None or leg.asset.locator.kind != "evm_contract":
        raise InvalidInput("asset", "an EVM token leg needs an EVM contract asset")
    token = client.checked_address(leg.asset.locator.address, field_name="asset")
    if leg.partition is not None:
        partition = bytes.fromhex(leg.partition.removeprefix("0x"))
        data = _PARTITION_ALLOWANCE.encode(partition, signer.address, htlc)
        answer = client.call({"to": token, "data": "0x" + data.hex()})
        if int.from_bytes(answer[:32], "big") < leg.amount:
            client.transact(signer, token, _APPROVE_PARTITION.encode(partition, htlc, leg.amount))
        return
    # selectors hashed once, arguments packed by hand (this runs before every token lock)
    answer = client.call(
        {"to": token, "data": "0x" + _ALLOWANCE.encode(signer.address, htlc).hex()}
    )
    if int.from_bytes(answer[:32], "big") >= leg.amount:
        return
    client.transact(signer, token, _APPROVE.encode(htlc, leg.amount))


def prepare_token_lock(
    client: EvmClient,
    htlc: EvmHtlc,
    leg: Leg,
    signer: Signer,
    *,
    approve_gas: dict[str, int] | None = None,
) -> None:
    """:func:`approve_for_htlc` for the relayer's port: a plain token leg's allowance is
    read with the lock's pre-flight in one batch (:meth:`EvmHtlc.ready_for_lock`, which the
    lock then does not repeat); the HTLC is approved when that allowance is short. A
    partition leg is approved by partition, as :func:`approve_for_htlc` does (never by an
    ERC-20 allowance, which ``lockPartition`` does not use).

    With ``approve_gas`` (per token, filled here) the approval is estimated once per token
    and sent with :func:`relayer.dry_runs.approve_gas_limit` of that estimate, the limit
    the funds check bounds it by; one that fails with a kept limit is estimated anew (a
    would-be revert then raises, nothing more is sent).

    A pipelined port (:func:`relayer.pipeline.is_pipelined`) sends the approval without
    waiting for it, as it sends the lock: a tick never waits for a receipt (one of the
    key's transactions lost on its way to the node leaves the next ones queued behind its
    nonce, and a wait here held every swap of the relayer for the receipt timeout, tick
    after tick). The lock then goes out next, on the following nonce, when its gas limit is
    kept or the approval is in a block already (one receipt read, no wait); otherwise its
    estimate would run before the approval is mined, so :class:`ApprovalPending` defers it
    to a later tick."""
    if leg.asset is None or leg.asset.locator.kind != "evm_contract":
        raise InvalidInput("asset", "an EVM token leg needs an EVM contract asset")
    if leg.partition is not None:
        approve_for_htlc(client, htlc.address, leg, signer)
        return
    token = client.checked_address(leg.asset.locator.address, field_name="asset")
    if approve_gas is not None and token.lower() in approve_gas and client.held_sends:
        # this token was approved here before, by exact amounts: the locks the tick holds
        # for its batch go out first, so the allowance read below is what it was before
        # batching (an earlier lock of this tick sent, not queued)
        client.drain_sends()
    found = htlc.ready_for_lock(
        token=token,
        sender=signer.address,
        receiver=leg.receiver,
        amount=leg.amount,
        approving=True,  # approved below when short: the lock reads nothing again
    )
    if any(r.raw_code == "allowance" for r in found.missing):
        data = _APPROVE.encode(htlc.address, leg.amount)
        if approve_gas is None:
            client.transact(signer, token, data)
            return
        key = token.lower()
        limit = approve_gas.get(key)
        if limit is None:
            tx = {"from": signer.address, "to": token, "data": "0x" + data.hex()}
            limit = approve_gas[key] = approve_gas_limit(client.estimate(tx))
        if is_pipelined(htlc):
            sent = client.send(signer, token, data, gas=limit)
            if htlc.sends_on_kept_gas("lockToken", token):
                return
            # the lock's estimate needs the allowance: go on if the approval is in a block
            # already (py-evm mines on sending, anvil a moment after), else at a later tick
            if sent in client.held_sends:
                client.drain_sends()  # held for the tick's batch: out now, as before
            if client.outcomes([sent])[sent].status != "mined":
                raise ApprovalPending(
                    f"approval of {token} for the HTLC sent; the lock follows once it is mined"
                )
            return
        try:
            client.transact(signer, token, data, gas=limit)
        except EvmReverted:
            approve_gas.pop(key, None)
            client.transact(signer, token, data)  # estimated: a would-be revert raises


@dataclass(frozen=True)
class TokenLockPreparer:
    """``ChainRuntime.prepare_lock`` of an EVM chain: :func:`prepare_token_lock` on the port
    the lock is sent by. The relayer binds its port to the watcher's records (a copy that
    keeps the locks' gas limits): :meth:`with_port` follows it there, so the approval sees
    whether the lock after it goes out on a kept limit."""

    client: EvmClient
    htlc: EvmHtlc
    approve_gas: dict[str, int]

    def __call__(self, leg: Leg, signer: Signer) -> None:
        prepare_token_lock(self.client, self.htlc, leg, signer, approve_gas=self.approve_gas)

    def with_port(self, htlc: EvmHtlc) -> TokenLockPreparer:
        """The same preparer for ``htlc`` (the port's copy bound to the records)."""
        return replace(self, htlc=htlc)


_ALLOWANCE: Final = ViewCall("allowance(address,address)")
_APPROVE: Final = ViewCall("approve(address,uint256)", ("bool",))
_PARTITION_ALLOWANCE: Final = ViewCall("allowanceByPartition(bytes32,address,address)")
_APPROVE_PARTITION: Final = ViewCall("approveByPartition(bytes32,address,uint256)", ("bool",))


def evm_runtime(
    *,
    name: str,
    client: EvmClient,
    htlc: EvmHtlc,
    timing: ChainTiming,
    confirmations: int,
    signers: Iterable[Signer],
    operator: Signer,
    dry_run: Callable[[TransferIntent], TransferCheck] | None = None,
    start_height: int | None = None,
    pipelined: bool = True,
) -> ChainRuntime:
    """The relayer's view of one EVM chain: block-timestamp clock, HTLC, keys, approvals,
    every token's own dry run (:func:`relayer.dry_runs.evm_dry_run` unless given) and the
    parties' chain facts the compliance engine needs
    (:func:`relayer.party_facts.evm_party_reader`).

    ``pipelined`` (the default): the HTLC's transactions are sent without waiting
    (:meth:`EvmHtlc.with_pipelining`, confirmed through the watcher, see
    :mod:`relayer.pipeline`), with nonces counted locally per signer by the client
    (:mod:`adapters.evm.nonces`: read afresh each time the relayer takes a key). The
    watcher reads the chain's height and time in one block read per tick
    (``EvmClient.head_and_time``, which also serves fees); the clock of safety decisions
    (``now``) is read afresh each time.
    """
    port = htlc.with_pipelining() if pipelined else htlc
    approve_gas: dict[str, int] = {}  # per token: approvals estimated once
    return ChainRuntime(
        name=name,
        chain=client.chain,
        htlc=port,
        now=lambda: int(client.now().timestamp()),
        head=client.head,
        timing=timing,
        confirmations=confirmations,
        signers={s.address: s for s in signers},
        operator=operator,
        escrow=htlc.address,
        dry_run=dry_run if dry_run is not None else evm_dry_run(client),
        prepare_lock=TokenLockPreparer(client, port, approve_gas),
        block_hash=client.block_hash,
        shortfall=port.shortfall,
        # the funds check counts the limits the approvals and locks go out with, once kept
        funds=evm_funds_check(client, htlc.address, limits=SendLimits(port, approve_gas)),
        start_height=start_height,
        party_facts=evm_party_reader(client),
        tick_clock=client.head_and_time,
        signer_acquired=client.nonces.forget,
    )
