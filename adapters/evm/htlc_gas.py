"""Gas used by ``HTLC.sol`` for lock, claim and refund, printed next to Boltz v6.

``python -m adapters.evm.htlc_gas`` deploys the HTLC and a plain OpenZeppelin ERC-20 (the
test contract ``FeeToken`` with a fee of 0) on an in-process py-evm chain and measures,
from receipts, one transaction of each kind in the steady state of a busy contract:

- the HTLC already holds coins and tokens of other open locks;
- the receiver already holds some of the token; the sender approved exactly the amount;
- the receiver claims and the sender refunds themselves (the cheapest calling pattern,
  the one the Boltz figures use).

The Boltz EtherSwap / ERC20Swap v6 figures were measured on py-evm the same way and are
quoted, not re-measured: the Boltz contracts are not part of stbridge (:data:`BOLTZ_V6_QUOTE`
says under which conditions).

:func:`report` measures more: the native and ERC-20 rows on py-evm at every EVM target
(the pre-Cancun HTLC build uses its storage guard), and per token kind - an ERC-1400
partition (``lockPartition`` / ``claimPartition`` / ``refundPartition``) and an ibet
straight bond through ``IbetHTLC`` (the token's ``lock`` to the escrow plus the commit) - each
beside the direct transfer of the same amount, so the escrow's overhead is visible.
``stbridge bench gas`` prints it (``--json`` for scripts).

How a row is compared with Boltz (:data:`COMPARISON`): a token whose own transfer is costly
(T-REX runs its identity and compliance checks on every transfer) cannot be compared by
absolute gas, so each row's *overhead* (its gas minus the direct transfer of the same amount
of the same token) is set against Boltz's overhead (its quoted figure minus the direct
transfer under its own conditions, measured here at cancun).

Where the three lock rows that were above Boltz stand (cancun, py-evm, issue 19; Boltz's
ERC-20 lock overhead is 31,103; the plain ERC-20 lock is 23 gas under it, so every fixed
part of ``lockToken`` is already spent and only a kind's own extra cost shows):

- ibet lock: 96,246 -> 79,648, overhead 46,330 -> 29,732: at or below Boltz (-1,371); its
  claim and refund 49,757 / 48,816 -> 54,753 / 53,790, still below (-2,720 / -2,917).
  IbetHTLC now keeps each lock in a numbered slot of its seller's and a settled lock leaves
  ``CLOSED`` (1) there instead of zero, so the seller's next lock writes over a non-zero
  word (about 5,000 gas instead of 22,100) and claims and refunds give up the 4,800 refund
  of clearing it; per swap (lock and claim) 146,003 -> 134,401. The row is the steady
  state: the seller has one lock open and has settled one before. When no settled slot is
  free (a seller's first locks, or more open at once than ever before) the lock takes a
  fresh one: ``ibet first lock`` in the report, 96,748 (+15,729 over Boltz). The lock is
  still two transactions, the token's ``lock`` to the escrow and the commit: one needs the
  token to tell the escrow, and ibet's tokens call ``tokenFallback`` only on a transfer to
  their ``tradableExchange`` and always with empty data (BOOSTRY's IbetStraightBond
  ``transfer`` / ``transferToContract``), while ours may add nothing to ibet's public
  interface (the ABI-conformance test). With a fresh word per lock, two transactions cannot
  reach Boltz: two base fees (42,000), the word (22,100), the token's own lock (14,092 of
  execution) and the calldata (2,492) make 80,684 against a bound of 49,916 + 31,103 =
  81,019, before the commit reads the lock book (a cold account and a cold word, 4,700).
  When the seller's uncommitted units locked to the escrow already cover the amount,
  ``IbetHtlc.lock`` sends the commit alone.
- ERC-1400 partition lock: 104,589 -> 96,476 -> 92,502 (overhead 42,830 -> 34,717 ->
  31,031; +11,727 -> +3,614 -> -72: at or below Boltz). The first two steps (-6,391, -1,734)
  made ``lockPartition`` inline assembly and our SecurityToken1400 read the partition
  operator word first and log ``ControllerTransfer`` only for a controller's forced transfer.
  The third, measured step by step on the cancun build (lock overhead after each):
  a partition allowance in SecurityToken1400 (``approveByPartition`` /
  ``allowanceByPartition``, as ConsenSys' UniversalToken has them), checked before the
  operator words and spent by ``operatorTransferByPartition``, the row approving exactly the
  amount as the ERC-20 rows (and Boltz) do: spending it to zero refunds most of its write,
  so the authorisation costs what an ERC-20 allowance does (34,717 -> 32,969);
  ``PartitionLocked`` in ``TokenLocked``'s shape, the partition, sender and amount read from
  the token's ERC-1410 ``TransferByPartition`` to the escrow logged after it (-> 32,151);
  the operator path checking the pause, the allowance and the operator words once instead
  of in ``_check`` and again after it (-> 31,415); the allowance at one 96-byte keccak slot
  instead of three nested mappings (-124 in two steps); the receiver and the deadline in
  one event word, ``deadline << 160 | receiver`` (-253, -> 31,038). That figure leaned on a
  side effect: splitting ``_check`` had made the direct ``transferByPartition`` 69 gas
  dearer (61,759 -> 61,828); with it back the overhead was 31,107 (+4). So both transfers
  by partition now run ``_check``'s steps inline (``_transferByPartition``, each word read
  once, the data logged from calldata), which makes the direct transfer cheaper too
  (61,759 -> 61,471) and leaves the overhead at 30,959; that a zero allowance authorises
  nothing (no zero-value move by a stranger) adds 72 (-> 31,031). Measured and not kept:
  the partition lock taking ``lockToken``'s kind of reentrancy mark (the partition balance
  it expects, under the key token xor partition) instead of an all-ones mark cleared on
  exit, -45, as it would let a lock of one kind nest in one of the other (safe then only
  through the outer lock's delivery check). An operator authorised instead of an allowance
  now pays one more cold read (2,100) for the allowance word.
- ibet first lock (no settled slot of the seller's free): 96,748 (+15,729), unchanged and
  not reachable: the bound in the ibet item above holds for any record layout, since the
  commit must write at least one word that was zero (22,100 at any time and by anyone:
  pre-reserving slots only moves it to another transaction). Considered again: the token's
  own lock book keeps one number per (escrow, seller), with no room for the swap's terms
  (its ``data`` string is only logged, and a contract cannot read logs); the seller's
  ``committed`` word is non-zero while a lock of theirs is open but holds the sum that stops
  one locked unit backing two swaps; a lock id cut to share a word with that sum would
  weaken the commitment (160 bits: a seller choosing both parameter sets finds a collision
  in about 2**80 hashes). Measured apart (cancun): the commit is 43,704 on a settled slot,
  60,804 on a fresh one, 77,892 for a seller's very first commit (its ``committed`` word
  fresh too); the token's lock 35,944 (53,044 the first time units go to the escrow).
- T-REX lock: unchanged, 333,289 (overhead 37,023, +5,920): 5,391 are the two ``balanceOf``
  through T-REX's proxy (about 2,700 each, warm) and 529 T-REX's own ``transferFrom``, which
  emits ``Approval`` (a build of the lock without any balance read still measured +529). The
  check cannot go: T-REX can take fees (its TransferFeesModule force-transfers the fee out of
  the receiver), and no cheap proof of "takes no fees" exists without an admin: every T-REX
  token runs the same proxy code (``EXTCODEHASH`` says nothing about its compliance modules),
  and a stored per-token total instead of the balance read before costs a cold read and a
  write (about 5,000) plus the read after, more than the two reads, and claims would pay it
  too. So T-REX cannot be at or below Boltz with ``lockToken``'s storage model without
  giving up the fee-on-transfer refusal. Considered again (issue 19, third pass): the
  balance before kept in transient storage only serves a second lock of the token in the
  same transaction (``lockToken``'s mark already holds it), never a transaction's first; a
  stored balance per token (at a slot hashed from 64 bytes, so never a lock id) costs a
  cold read and a write (2,100 + 2,900) to save one pass through the proxy (about 2,700),
  and every claim and refund would write it too (+2,900, where they are 649 / 445 under
  Boltz), which also makes claims exceed Boltz; reading the compliance's module list to
  exclude TransferFeesModule is itself a call through the compliance's proxy on every lock
  and cannot vouch for any other module a hostile owner adds and makes a token agent (as
  TransferFeesModule must be for its ``forcedTransfer``). Not reached: +5,920.

IbetHTLC's slot reuse would bring every HTLC.sol lock under Boltz too (T-REX included:
about -17,100), but not adopted there: HTLC.sol's claims and refunds are only
168 to 661 gas under Boltz, and losing the 4,800 refund of clearing a word would put them
4,100 to 4,700 above (estimated from the EIP-2929 / EIP-3529 prices, not measured); per
swap it would save about 12,300. It also needs the slot in every lock's terms, so the
adapter and the relayer's records would carry it.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from adapters.evm.client import EvmClient
from adapters.evm.contracts import artifact_for_chain, load_artifact
from adapters.evm.htlc import NATIVE, EvmHtlc
from adapters.evm.signer import EvmSigner

__all__ = [
    "BOLTZ_BASELINE_TARGET",
    "BOLTZ_V6",
    "BOLTZ_V6_QUOTE",
    "COMPARISON",
    "OPERATIONS",
    "TARGETS",
    "boltz_overheads",
    "compare_rows",
    "format_report",
    "format_table",
    "main",
    "measure",
    "measure_ibet",
    "measure_partition",
    "report",
]

OPERATIONS: Final = (
    "native lock",
    "native claim",
    "native refund",
    "erc20 lock",
    "erc20 claim",
    "erc20 refund",
)

BOLTZ_V6: Final[dict[str, int]] = {
    "native lock": 47_589,
    "native claim": 32_476,
    "native refund": 31_620,
    "erc20 lock": 65_705,
    "erc20 claim": 42_159,
    "erc20 refund": 41_393,
}
"""Boltz EtherSwap / ERC20Swap v6 on py-evm (lock, claim, refund)."""

BOLTZ_V6_QUOTE: Final = (
    "quoted, not measured by this command: Boltz EtherSwap / ERC20Swap v6 "
    "(BoltzExchange/boltz-core) measured once on py-evm with the calling pattern of the "
    "stbridge rows "
    "(busy contract, the receiver claims and the sender refunds itself, a plain "
    "OpenZeppelin ERC-20 approved for exactly the amount); Boltz's foundry.toml sets no "
    "optimizer or EVM version, so its Foundry defaults apply; compare with the cancun rows"
)
"""The conditions of :data:`BOLTZ_V6`, printed beside the figures."""

TARGETS: Final = ("berlin", "london", "shanghai", "cancun", "prague")
"""The EVM targets :func:`report` measures on (py-evm at that fork)."""

_GAS_LIMIT: Final = 300_000
_HOUR: Final = 3600


def _secret(counter: list[int]) -> bytes:
    counter[0] += 1
    return hashlib.sha256(b"stbridge-gas-bench:%d" % counter[0]).digest()


def measure(client: EvmClient | None = None) -> dict[str, int]:
    """Gas used by each operation in :data:`OPERATIONS` (fresh py-evm chain by default)."""
    client = client or EvmClient.embedded()
    alice = EvmSigner.from_seed("htlc-gas:alice")
    bob = EvmSigner.from_seed("htlc-gas:bob")
    for signer in (alice, bob):
        client.fund(signer.address, 10**21)
    htlc = EvmHtlc.deploy(client, alice)
    fns = htlc.contract.functions
    artifact = artifact_for_chain("FeeToken", client)
    token = client.deploy(alice, artifact.abi, artifact.bytecode, 0)
    counter = [0]

    def gas(signer: EvmSigner, fn_call: Any, value: int = 0) -> int:
        data = bytes.fromhex(str(fn_call._encode_transaction_data()).removeprefix("0x"))
        receipt = client.transact(signer, htlc.address, data, value=value, gas=_GAS_LIMIT)
        return int(client.receipt(receipt.tx_id)["gasUsed"])

    def send(signer: EvmSigner, fn_call: Any) -> None:
        data = bytes.fromhex(str(fn_call._encode_transaction_data()).removeprefix("0x"))
        client.transact(signer, str(fn_call.address), data, gas=_GAS_LIMIT)

    def now() -> int:
        return int(client.now().timestamp())

    one = 10**18
    units = 10**6
    send(alice, token.functions.mint(alice.address, 10**12))
    send(alice, token.functions.mint(bob.address, units))
    # background locks, so the escrow's balances are already non-zero
    background = hashlib.sha256(_secret(counter)).digest()
    send(alice, token.functions.approve(htlc.address, units))
    gas(alice, fns.lockToken(token.address, units, background, bob.address, now() + 300 * _HOUR))
    gas(alice, fns.lock(background, bob.address, now() + 300 * _HOUR), value=one)

    out: dict[str, int] = {}
    zero = NATIVE

    def run(kind: str, lock: Callable[[bytes, int], Any], claim: Callable[..., Any]) -> None:
        secret = _secret(counter)
        hashlock = hashlib.sha256(secret).digest()
        deadline = now() + _HOUR
        out[f"{kind} lock"] = lock(hashlock, deadline)
        out[f"{kind} claim"] = claim(secret, deadline)

    run(
        "native",
        lambda h, d: gas(alice, fns.lock(h, bob.address, d), value=one),
        lambda s, d: gas(bob, fns.claim(s, alice.address, zero, one, d)),
    )
    send(alice, token.functions.approve(htlc.address, units))
    run(
        "erc20",
        lambda h, d: gas(alice, fns.lockToken(token.address, units, h, bob.address, d)),
        lambda s, d: gas(bob, fns.claimToken(s, token.address, alice.address, zero, units, d)),
    )
    refund_lock = hashlib.sha256(_secret(counter)).digest()
    deadline = now() + _HOUR
    gas(alice, fns.lock(refund_lock, bob.address, deadline), value=one)
    send(alice, token.functions.approve(htlc.address, units))
    gas(alice, fns.lockToken(token.address, units, refund_lock, bob.address, deadline))
    client.increase_time(_HOUR + 60)
    out["native refund"] = gas(alice, fns.refund(refund_lock, zero, bob.address, one, deadline))
    out["erc20 refund"] = gas(
        alice, fns.refundToken(refund_lock, token.address, zero, bob.address, units, deadline)
    )
    return {op: out[op] for op in OPERATIONS}


def _gas_of(client: EvmClient, limit: int = _GAS_LIMIT) -> Callable[..., int]:
    def gas(signer: EvmSigner, fn_call: Any, value: int = 0) -> int:
        data = bytes.fromhex(str(fn_call._encode_transaction_data()).removeprefix("0x"))
        receipt = client.transact(signer, str(fn_call.address), data, value=value, gas=limit)
        return int(client.receipt(receipt.tx_id)["gasUsed"])

    return gas


def measure_partition(client: EvmClient) -> dict[str, int]:
    """An ERC-1400 partition (our SecurityToken1400): lock, claim, refund of 1,000 units of
    a partition and the direct ``transferByPartition`` of as many, in the steady state."""
    alice = EvmSigner.from_seed("htlc-gas-1400:alice")
    bob = EvmSigner.from_seed("htlc-gas-1400:bob")
    for signer in (alice, bob):
        client.fund(signer.address, 10**21)
    htlc = EvmHtlc.deploy(client, alice)
    fns = htlc.contract.functions
    art = artifact_for_chain("SecurityToken1400", client)
    part = b"class-A".ljust(32, b"\x00")
    token = client.deploy(alice, art.abi, art.bytecode, "Fund", "FND", 0, part, alice.address)
    gas = _gas_of(client)
    for who in (alice.address, bob.address, htlc.address):
        gas(alice, token.functions.setWhitelisted(who, True))
    gas(alice, token.functions.issueByPartition(part, alice.address, 10**9, b""))
    gas(alice, token.functions.issueByPartition(part, bob.address, 10**6, b""))
    counter = [100]
    units = 1_000

    def approve() -> None:  # exactly the amount, as the ERC-20 rows (and Boltz's) approve
        gas(alice, token.functions.approveByPartition(part, htlc.address, units))

    deadline = int(client.now().timestamp()) + 300 * _HOUR
    background = hashlib.sha256(_secret(counter)).digest()
    approve()
    gas(alice, fns.lockPartition(token.address, part, units, background, bob.address, deadline))
    out: dict[str, int] = {}
    secret = _secret(counter)
    deadline = int(client.now().timestamp()) + _HOUR
    hashlock = hashlib.sha256(secret).digest()
    approve()
    out["lock"] = gas(
        alice, fns.lockPartition(token.address, part, units, hashlock, bob.address, deadline)
    )
    out["claim"] = gas(
        bob, fns.claimPartition(secret, token.address, part, alice.address, NATIVE, units, deadline)
    )
    refund_lock = hashlib.sha256(_secret(counter)).digest()
    approve()
    gas(alice, fns.lockPartition(token.address, part, units, refund_lock, bob.address, deadline))
    client.increase_time(_HOUR + 60)
    out["refund"] = gas(
        alice,
        fns.refundPartition(refund_lock, token.address, part, NATIVE, bob.address, units, deadline),
    )
    out["direct transfer"] = gas(
        alice, token.functions.transferByPartition(part, bob.address, units, b"")
    )
    return out


def measure_ibet(client: EvmClient) -> dict[str, int]:
    """An ibet straight bond through ``IbetHTLC``: the lock is the token's ``lock`` to the
    escrow plus the commit (two transactions, summed), claim and refund unlock; beside the
    direct ``transfer`` of as many units, in the steady state: the seller has one lock open
    and has settled one before, whose slot the measured lock reuses (``first lock``: the
    same two transactions when no settled slot is free, so the lock takes a fresh one)."""
    from adapters.evm.ibet import deploy_ibet_bond, deploy_personal_info
    from adapters.evm.ibet_htlc import IbetHtlc

    issuer = EvmSigner.from_seed("htlc-gas-ibet:issuer")
    seller = EvmSigner.from_seed("htlc-gas-ibet:seller")
    buyer = EvmSigner.from_seed("htlc-gas-ibet:buyer")
    for signer in (issuer, seller, buyer):
        client.fund(signer.address, 10**21)
    registry = deploy_personal_info(client, issuer)
    bond = deploy_ibet_bond(
        client, issuer, name="Gas Bond", symbol="GB", total_supply=10**9,
        personal_info=registry, face_value=10_000,
    )  # fmt: skip
    escrow = IbetHtlc.deploy(client, issuer)
    token = client.contract(bond, load_artifact("IbetStraightBond").abi)
    reg = client.contract(registry, load_artifact("PersonalInfo").abi)
    gas = _gas_of(client)
    for who in (seller, buyer):
        gas(who, reg.functions.register(issuer.address, "encrypted"))
    gas(issuer, token.functions.transfer(seller.address, 10**6))
    gas(issuer, token.functions.transfer(buyer.address, 10**3))
    fns = escrow.contract.functions
    counter = [200]
    units = 1_000

    def lock(hashlock: bytes, deadline: int) -> tuple[int, int]:
        """(gas of the two transactions, the slot the lock took)."""
        slot = int(client.read(fns.freeSlot(seller.address, 0)))
        first = gas(seller, token.functions.lock(escrow.address, units, ""))
        return first + gas(
            seller, fns.lock(bond, units, hashlock, buyer.address, deadline, slot)
        ), slot

    out: dict[str, int] = {}
    far = int(client.now().timestamp()) + 300 * _HOUR
    lock(hashlib.sha256(_secret(counter)).digest(), far)  # background lock, stays open
    settled = _secret(counter)  # an earlier swap of the seller's, claimed: its slot is free
    out["first lock"], slot = lock(hashlib.sha256(settled).digest(), far)  # a fresh slot
    gas(buyer, fns.claim(settled, bond, seller.address, buyer.address, units, far, slot))
    secret = _secret(counter)
    deadline = int(client.now().timestamp()) + _HOUR
    out["lock"], slot = lock(hashlib.sha256(secret).digest(), deadline)
    out["claim"] = gas(
        buyer, fns.claim(secret, bond, seller.address, buyer.address, units, deadline, slot)
    )
    refund_lock = hashlib.sha256(_secret(counter)).digest()
    _, slot = lock(refund_lock, deadline)
    client.increase_time(_HOUR + 60)
    out["refund"] = gas(
        seller, fns.refund(refund_lock, bond, seller.address, buyer.address, units, deadline, slot)
    )
    out["direct transfer"] = gas(seller, token.functions.transfer(buyer.address, units))
    return out


def measure_trex(client: EvmClient) -> dict[str, int]:
    """An ERC-3643 (T-REX 4.1.6 demo suite: country-allow and max-balance modules) token:
    lock, claim, refund of 1,000 units through ``lockToken`` once the HTLC is an eligible
    holder, beside the direct ``transfer`` between two verified investors."""
    from adapters.evm.abi import load_abi
    from adapters.evm.htlc import (
        add_escrow_claim,
        create_escrow_identity,
        register_escrow_identity,
    )
    from adapters.evm.trex_deploy import TrexDeployer, deploy_demo_suite

    owner = EvmSigner.from_seed("htlc-gas-trex:owner")
    client.fund(owner.address, 10**21)
    deployer = TrexDeployer(client, owner)
    suite = deploy_demo_suite(client, deployer=deployer)
    alice, bob = suite.investor("alice"), suite.investor("bob")
    for who in (alice.signer, bob.signer):
        client.fund(who.address, 10**21)
    htlc = EvmHtlc.deploy(client, owner)
    identity = create_escrow_identity(
        client, id_factory=suite.id_factory, htlc=htlc.address, manager=owner.address,
        salt=f"gas-{htlc.address}", signer=owner,
    )  # fmt: skip
    for topic in suite.required_topics:
        add_escrow_claim(
            client, identity=identity, topic=topic, issuer=suite.claim_issuer,
            signature=deployer.sign_claim(suite, identity, topic, b""), data=b"", signer=owner,
        )  # fmt: skip
    register_escrow_identity(
        client, identity_registry=suite.identity_registry, htlc=htlc.address,
        identity=identity, country="JP", agent=suite.agent,
    )  # fmt: skip
    token = client.contract(suite.token, load_abi("Token"))
    fns = htlc.contract.functions
    gas = _gas_of(client, 2_000_000)  # T-REX's compliance modules need more than 300,000
    counter = [300]
    units = 1_000
    a, b = alice.signer, bob.signer
    far = int(client.now().timestamp()) + 300 * _HOUR
    gas(a, token.functions.approve(htlc.address, units))
    gas(a, fns.lockToken(suite.token, units, hashlib.sha256(_secret(counter)).digest(),
                         b.address, far))  # fmt: skip
    out: dict[str, int] = {}
    secret = _secret(counter)
    deadline = int(client.now().timestamp()) + _HOUR
    gas(a, token.functions.approve(htlc.address, units))
    out["lock"] = gas(
        a, fns.lockToken(suite.token, units, hashlib.sha256(secret).digest(), b.address, deadline)
    )
    out["claim"] = gas(b, fns.claimToken(secret, suite.token, a.address, NATIVE, units, deadline))
    refund_lock = hashlib.sha256(_secret(counter)).digest()
    gas(a, token.functions.approve(htlc.address, units))
    gas(a, fns.lockToken(suite.token, units, refund_lock, b.address, deadline))
    client.increase_time(_HOUR + 60)
    out["refund"] = gas(
        a, fns.refundToken(refund_lock, suite.token, NATIVE, b.address, units, deadline)
    )
    out["direct transfer"] = gas(a, token.functions.transfer(b.address, units))
    return out


def _direct(client: EvmClient) -> dict[str, int]:
    """A plain coin transfer and a plain ERC-20 ``transfer`` to a holder, for comparison."""
    alice = EvmSigner.from_seed("htlc-gas-direct:alice")
    bob = EvmSigner.from_seed("htlc-gas-direct:bob")
    for signer in (alice, bob):
        client.fund(signer.address, 10**21)
    art = artifact_for_chain("FeeToken", client)
    token = client.deploy(alice, art.abi, art.bytecode, 0)
    gas = _gas_of(client)
    gas(alice, token.functions.mint(alice.address, 10**12))
    gas(alice, token.functions.mint(bob.address, 10**6))
    coin = client.transact(alice, bob.address, b"", value=10**18, gas=_GAS_LIMIT)
    return {
        "native": int(client.receipt(coin.tx_id)["gasUsed"]),
        "erc20": gas(alice, token.functions.transfer(bob.address, 10**6)),
    }


BOLTZ_BASELINE_TARGET: Final = "cancun"
"""The EVM target Boltz's figures are compared on (the target their conditions name)."""

COMPARISON: Final = (
    "overhead = the row's gas minus the direct transfer of the same amount of the same token "
    "(one transaction, sender and receiver already holding the token); Boltz's overhead = "
    "its quoted figure minus the direct transfer of its own conditions (the native coin: "
    "21,000; a plain OpenZeppelin ERC-20 transfer, measured here on py-evm at cancun); "
    "native rows compare with Boltz's EtherSwap, every token row with its ERC20Swap; a row "
    "is at or below Boltz when its overhead is"
)
"""How :func:`report` compares a row with Boltz v6, printed beside the figures."""


def _boltz_kind(kind: str) -> str:
    return "native" if kind == "native" else "erc20"


def boltz_overheads(direct: Mapping[str, int]) -> dict[str, int]:
    """Boltz v6's overhead per operation: its quoted gas minus ``direct[kind]`` (the direct
    transfer under its conditions: ``native`` and ``erc20``)."""
    return {op: BOLTZ_V6[op] - direct[op.split()[0]] for op in OPERATIONS}


def compare_rows(
    kinds: Mapping[str, Mapping[str, int]], boltz_overhead: Mapping[str, int]
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """(overhead, margin) per token kind and operation: the row's gas minus the kind's
    ``direct transfer``, and that overhead minus Boltz's for the same operation (<= 0: at
    or below Boltz)."""
    overhead: dict[str, dict[str, int]] = {}
    margin: dict[str, dict[str, int]] = {}
    for kind, ops in kinds.items():
        direct = ops["direct transfer"]
        overhead[kind] = {op: ops[op] - direct for op in ("lock", "claim", "refund")}
        margin[kind] = {
            op: used - boltz_overhead[f"{_boltz_kind(kind)} {op}"]
            for op, used in overhead[kind].items()
        }
    return overhead, margin


def report(targets: Sequence[str] = TARGETS) -> dict[str, Any]:
    """Gas per EVM target and per token kind on py-evm, with Boltz v6 quoted beside.

    Shape: ``{"boltz_v6": {"quoted": true, "conditions": ..., "comparison": ...,
    "figures": {op: gas}, "direct transfer": {"native", "erc20"}, "overhead": {op: gas}},
    "targets": {target: {"kinds": {kind: {"lock", "claim", "refund", "direct transfer"}},
    "overhead": {kind: {op}}, "margin": {kind: {op}}, "at_or_below_boltz": bool,
    "above_boltz": [...], "ibet first lock": gas}}}`` with kinds ``native``, ``erc20``,
    ``erc3643 (T-REX)``, ``erc1400 partition`` and ``ibet``. ``overhead`` is a row's gas over
    the direct transfer of the same amount, ``margin`` that overhead minus Boltz's (see
    :data:`COMPARISON`); ``at_or_below_boltz`` says whether every margin on the target is <= 0 and
    ``above_boltz`` names the rows that are not. ``ibet first lock`` is the ibet lock when
    no settled slot of the seller's is free (see the module's notes); it is not a row.
    """
    direct_boltz = _direct(EvmClient.embedded(BOLTZ_BASELINE_TARGET))
    boltz_overhead = boltz_overheads(direct_boltz)
    out: dict[str, Any] = {
        "boltz_v6": {
            "quoted": True,
            "conditions": BOLTZ_V6_QUOTE,
            "comparison": COMPARISON,
            "figures": dict(BOLTZ_V6),
            "direct transfer": direct_boltz,
            "overhead": boltz_overhead,
        },
        "targets": {},
    }
    for target in targets:
        client = EvmClient.embedded(target)
        base = measure(client)
        direct = _direct(client)
        kinds: dict[str, dict[str, int]] = {}
        for kind in ("native", "erc20"):
            kinds[kind] = {op: base[f"{kind} {op}"] for op in ("lock", "claim", "refund")}
            kinds[kind]["direct transfer"] = direct[kind]
        kinds["erc3643 (T-REX)"] = measure_trex(client)
        kinds["erc1400 partition"] = measure_partition(client)
        kinds["ibet"] = measure_ibet(client)
        ibet_first = kinds["ibet"].pop("first lock")
        overhead, margin = compare_rows(kinds, boltz_overhead)
        above = [f"{k} {op}" for k, ops in margin.items() for op, m in ops.items() if m > 0]
        out["targets"][target] = {
            "kinds": kinds,
            "overhead": overhead,
            "margin": margin,
            "at_or_below_boltz": not above,
            "above_boltz": above,
            "ibet first lock": ibet_first,
        }
    return out


def format_report(data: Mapping[str, Any]) -> str:
    """The report as text: one table per target, the gas, its overhead over the direct
    transfer and Boltz v6's overhead beside (quoted, with its conditions)."""
    boltz = data["boltz_v6"]
    lines = [
        f"Boltz v6: {boltz['conditions']}",
        f"Comparison: {boltz['comparison']}",
        "",
    ]
    for target, row in data["targets"].items():
        lines.append(f"EVM target {target} (py-evm)")
        lines.append(
            f"  {'token kind':<18} {'operation':<16} {'gas':>9} {'overhead':>9} "
            f"{'Boltz ovh':>9} {'margin':>8}"
        )
        for kind, ops in row["kinds"].items():
            for op, used in ops.items():
                if op == "direct transfer":
                    lines.append(f"  {kind:<18} {op:<16} {used:>9,}")
                    continue
                theirs = boltz["overhead"][f"{_boltz_kind(kind)} {op}"]
                ours = row["overhead"][kind][op]
                lines.append(
                    f"  {kind:<18} {op:<16} {used:>9,} {ours:>9,} {theirs:>9,} "
                    f"{row['margin'][kind][op]:>+8,}"
                )
        first = row["ibet first lock"]
        extra = first - row["kinds"]["ibet"]["direct transfer"]
        lines.append(
            f"  {'ibet':<18} {'first lock':<16} {first:>9,} {extra:>9,}"
            "   (no settled slot of the seller's free: a fresh one)"
        )
        verdict = "yes" if row["at_or_below_boltz"] else "NO: " + ", ".join(row["above_boltz"])
        lines.append(f"  every row's overhead at or below Boltz v6's: {verdict}")
        lines.append("")
    return "\n".join(lines).rstrip()


def format_table(measured: dict[str, int]) -> str:
    """A plain-text table: operation, stbridge gas, Boltz v6 gas, difference."""
    lines = [f"{'operation':<14} {'stbridge':>9} {'Boltz v6':>9} {'diff':>7}"]
    for op in OPERATIONS:
        ours, theirs = measured[op], BOLTZ_V6[op]
        lines.append(f"{op:<14} {ours:>9,} {theirs:>9,} {ours - theirs:>+7,}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure on py-evm and print the table (``--all``: every target and token kind)."""
    if argv is None:
        argv = sys.argv[1:]
    if "--all" in argv:
        print(format_report(report()))
    else:
        print(format_table(measure()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
