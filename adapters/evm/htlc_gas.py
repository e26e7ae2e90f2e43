"""Gas used by ``HTLC.sol`` for lock, claim and refund, printed next to Boltz v6.

``python -m adapters.evm.htlc_gas`` deploys the HTLC and a plain OpenZeppelin ERC-20 (the
test contract ``FeeToken`` with a fee of 0) on an in-process py-evm chain and measures,
from receipts, one transaction of each kind in the steady state of a busy contract:

- the HTLC already holds coins and tokens of other open locks;
- the receiver already holds some of the token; the sender approved exactly the amount;
- the receiver claims and the sender refunds themselves (the cheapest calling pattern,
  the one the Boltz figures use).

The Boltz EtherSwap / ERC20Swap v6 figures were measured on py-evm the same way and are
quoted, not re-measured: the Boltz contracts are not part of stbridge.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Sequence
from typing import Any, Final

from adapters.evm.client import EvmClient
from adapters.evm.contracts import load_artifact
from adapters.evm.htlc import NATIVE, EvmHtlc
from adapters.evm.signer import EvmSigner

__all__ = ["BOLTZ_V6", "OPERATIONS", "format_table", "main", "measure"]

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
    artifact = load_artifact("FeeToken")
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


def format_table(measured: dict[str, int]) -> str:
    """A plain-text table: operation, stbridge gas, Boltz v6 gas, difference."""
    lines = [f"{'operation':<14} {'stbridge':>9} {'Boltz v6':>9} {'diff':>7}"]
    for op in OPERATIONS:
        ours, theirs = measured[op], BOLTZ_V6[op]
        lines.append(f"{op:<14} {ours:>9,} {theirs:>9,} {ours - theirs:>+7,}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure on py-evm and print the table; returns the exit status."""
    del argv
    print(format_table(measure()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
