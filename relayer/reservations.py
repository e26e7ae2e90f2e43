"""What a sender's swaps in flight will still spend, set aside before another is admitted.

The funds check before a lock (:mod:`relayer.dry_runs`) asks whether a leg's sender can
pay for its lock: the native coin of its fees (and of a native leg's amount), and the token
units it locks. Asked of each order alone, a seller or buyer with many concurrent orders
passes every check against the same balance, and the locks past what it holds fail at the
chain, after the counterparty has locked (a liveness failure, fees wasted, and an order
accepted that cannot settle). So each admitted leg *holds* what its lock will take, in the
store (table ``funds_reservations``: persisted, so a restarted relayer or another replica
sees it), and the check of a new leg adds what the sender's other legs still hold.

A hold lives from the check that admits its leg until its lock has taken what it held:

- it is written by the check itself (:meth:`LegHold.hold`), **before** the others are read
  (in the same store transaction), so of two checks of one sender racing (two replicas)
  the later one always sees the earlier's hold;
- it no longer counts at a height once the leg's lock is in a block at or below that
  height (its ``landed_at``): the chain's watcher recorded its ``Locked`` event there, or
  the relayer saw the lock mined there (:meth:`Reservations.landed`: the receipt's height
  of a lock it sent and waited for; a pipelined lock is left to the watcher's records,
  complete up to the height an EVM check reads at);
  a reorg that takes the lock out clears it again. The balance it is compared with is read
  at that same height (the watcher's head for an EVM chain; the latest round on Algorand,
  where every lock the relayer knows of is at or below it);
- it is dropped when its leg's lock is confirmed or has failed, and when its swap ends
  (completed, refunded, refused or cancelled), by the store in the transaction of the input
  that says so (:func:`released`).

The store keeps each sender's holds summed per asset (``funds_totals``, written with the
holds): a check reads those totals less the few holds landed and not yet dropped, so its
cost does not grow with the number of swaps in flight.

Why this is safe: **it never admits what cannot be paid** (given the balance it reads: the
sender's other spending is outside the relayer's sight). At the height ``h`` the check
reads, every admitted leg of the sender either has its lock in a block at or below ``h`` (its
spend is already out of the balance read at ``h``, and its hold does not count) or not (its
spend is still in that balance, and its hold counts in full): each spend is taken exactly
once, and the new lock is admitted only if the balance covers it and every hold that
counts. A lock's cost is bounded as the check bounds it (the gas limit it is sent with, at
the fee per gas offered now, re-priced for every hold at each check).

And **it never refuses forever what can be paid**: a hold ends when its lock is mined (at
the latest when it is confirmed), when the lock fails, or when its swap ends; no other
event keeps it. Once the sender's other swaps are locked or over, the check is again the
plain one: a refusal while holds count is only ever for money those swaps are about to
spend. (A swap refused meanwhile is refused for good, as any order short of funds: its
platform submits it again once the sender is funded.)

What it does not cover: money the sender spends outside this relayer (another relayer's
swaps, its own transfers); the fees of a lock that fails in a block above the height read,
in the tick it fails in (its hold is dropped at once); an ERC-1400 partition's or a T-REX
holder's frozen units, which the holds compare with the whole ``balanceOf``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bridge.model import AssetRef
from bridge.swap import LegPhase, Outcome, Role, SwapState

if TYPE_CHECKING:
    from relayer.store import Store

__all__ = [
    "FundsBook",
    "FundsHeld",
    "FundsHold",
    "InFlight",
    "LegHold",
    "LockCost",
    "Reservations",
    "asset_key",
    "released",
]

_DONE_PHASES = frozenset(
    {
        LegPhase.LOCKED,
        LegPhase.CLAIM_SENT,
        LegPhase.CLAIMED,
        LegPhase.REFUND_SENT,
        LegPhase.REFUNDED,
        LegPhase.LOCK_FAILED,
    }
)
"""Phases in which a leg's lock has taken what it held (or never will)."""


@dataclass(frozen=True)
class LockCost:
    """What one lock takes from its sender.

    ``gas``: EVM gas (priced at the fee per gas of the check that counts it); ``coin``:
    native units whatever the fee (an EVM native leg's amount in wei; an Algorand lock's
    deposit, fees and ALGO amount in microalgos); ``token``: units of the asset ``asset``
    (:func:`asset_key`) it locks."""

    gas: int = 0
    coin: int = 0
    token: int = 0
    asset: str = ""


@dataclass(frozen=True)
class InFlight:
    """What a sender's other admitted legs on one chain still hold: ``swaps`` of them,
    ``gas`` and ``coin`` in all, and ``token`` units of one asset (held by ``token_swaps``
    of them)."""

    swaps: int = 0
    gas: int = 0
    coin: int = 0
    token: int = 0
    token_swaps: int = 0


NOTHING_IN_FLIGHT = InFlight()


class FundsHold(Protocol):
    """One leg's hold, as the funds check uses it (:class:`LegHold`)."""

    def hold(self, cost: LockCost, at: int | None) -> InFlight:
        """Record (or raise) what this leg's lock will take, then tell what the sender's
        other legs hold at height ``at`` (None: the latest)."""

    def others(self, at: int | None) -> InFlight:
        """What the sender's other legs hold at height ``at`` (None: the latest)."""


def asset_key(asset: AssetRef | None) -> str:
    """The key holds of one asset share on a chain ('' for the native coin)."""
    if asset is None:
        return ""
    loc = asset.locator
    return loc.address.lower() if loc.kind == "evm_contract" else f"asa:{loc.asset_id}"


def _sender_key(sender: str) -> str:
    return sender.lower() if sender.startswith("0x") else sender


@dataclass(frozen=True)
class LegHold:
    """The hold of leg ``role`` of swap ``swap_id``: sender ``sender`` on chain ``chain``
    (its key), locking ``asset`` in the lock ``lock_id`` (recomputed from the terms)."""

    store: Store
    swap_id: str
    role: str
    chain: str
    sender: str
    lock_id: str
    asset: str

    def hold(self, cost: LockCost, at: int | None) -> InFlight:
        """Write this leg's hold (replacing an earlier one of the same leg), then read
        :meth:`others` at ``at``, in one store transaction."""
        rows = self.store.hold_funds(
            self.swap_id,
            self.role,
            chain=self.chain,
            sender=_sender_key(self.sender),
            lock_id=self.lock_id,
            asset=cost.asset,
            gas=cost.gas,
            coin=cost.coin,
            token=cost.token,
            at=at,
        )
        return self._sum(rows)

    def others(self, at: int | None) -> InFlight:
        """What the sender's other legs on this chain hold at height ``at``."""
        rows = self.store.held_funds(
            self.chain, _sender_key(self.sender), exclude=self.swap_id, at=at
        )
        return self._sum(rows)

    def _sum(self, held: FundsHeld) -> InFlight:
        swaps = gas = coin = 0
        for holds, row_gas, row_coin, _ in held.values():
            swaps += holds
            gas += row_gas
            coin += row_coin
        holds, _, _, token = held.get(self.asset, (0, 0, 0, 0))
        if not self.asset or not token:
            return InFlight(swaps, gas, coin)
        return InFlight(swaps, gas, coin, token, holds)


FundsHeld = dict[str, tuple[int, int, int, int]]
"""Per asset key, what a sender's counted holds add up to: ``(holds, gas, coin, token)``."""


class FundsBook:
    """The store's side of the holds, mixed into :class:`relayer.store.Store` (tables
    ``funds_reservations`` and ``funds_totals``; the same SQL on SQLite and PostgreSQL)."""

    if TYPE_CHECKING:  # provided by relayer.store.Store

        def _tx(self) -> AbstractContextManager[Any]: ...

        def _exec(self, cur: Any, sql: str, params: tuple[Any, ...] = ()) -> Any: ...

        def _fence(self, cur: Any, swap_id: str) -> None: ...

        def _lock_clause(self) -> str: ...

    def hold_funds(
        self,
        swap_id: str,
        role: str,
        *,
        chain: str,
        sender: str,
        lock_id: str,
        asset: str,
        gas: int,
        coin: int,
        token: int,
        at: int | None,
    ) -> FundsHeld:
        """Record (or replace) what leg ``role`` of ``swap_id`` will take from ``sender``,
        then, in the same transaction, :meth:`held_funds` of the sender's other legs at
        ``at``: a check racing this one from another replica sees this hold, or this one
        sees its. A lock of ``lock_id`` the watcher recorded already counts as landed."""
        with self._tx() as cur:
            self._fence(cur, swap_id)
            self._drop_holds(cur, swap_id, role)
            recorded = self._exec(  # by lock id (a MIN() here would scan the chain's heights)
                cur,
                "SELECT height FROM chain_events WHERE chain = ? AND lock_id = ? "
                "AND name = 'Locked'",
                (chain, lock_id),
            ).fetchall()
            landed = min((int(r[0]) for r in recorded), default=None)
            self._exec(
                cur,
                "INSERT INTO funds_reservations "
                "(swap_id, role, chain, sender, lock_id, asset, gas, coin, token, landed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    swap_id,
                    role,
                    chain,
                    sender,
                    lock_id,
                    asset,
                    gas,
                    str(coin),
                    str(token),
                    landed,
                ),
            )
            self._add_total(cur, chain, sender, asset, 1, gas, coin, token)
            return self._held_totals(cur, chain, sender, swap_id, at)

    def held_funds(self, chain: str, sender: str, *, exclude: str, at: int | None) -> FundsHeld:
        """What the holds of ``sender`` on ``chain`` but ``exclude``'s add up to, per asset,
        counting only those whose lock is not in a block at or below ``at`` (None: in no
        block known): neither recorded there by the chain's watcher nor seen mined there by
        the relayer (:meth:`funds_landed`). Read from the kept totals, less the few holds
        landed and not yet released: the cost does not grow with the holds in flight."""
        with self._tx() as cur:
            return self._held_totals(cur, chain, sender, exclude, at)

    def funds_landed(self, swap_id: str, role: str, height: int | None) -> None:
        """Leg ``role``'s lock is in the block at ``height`` (None: a reorg took it out)."""
        with self._tx() as cur:
            self._exec(
                cur,
                "UPDATE funds_reservations SET landed_at = ? WHERE swap_id = ? AND role = ?",
                (height, swap_id, role),
            )

    def release_funds(self, swap_id: str, role: str | None = None) -> None:
        """Drop the hold of leg ``role`` of ``swap_id`` (None: of each of its legs)."""
        with self._tx() as cur:
            self._fence(cur, swap_id)
            self._drop_holds(cur, swap_id, role)

    def _drop_holds(self, cur: Any, swap_id: str, role: str | None) -> None:
        sql = "SELECT role, chain, sender, asset, gas, coin, token FROM funds_reservations "
        params: tuple[str, ...] = (swap_id,)
        where = "WHERE swap_id = ?"
        if role is not None:
            where, params = where + " AND role = ?", (swap_id, role)
        for row in self._exec(cur, sql + where, params).fetchall():
            chain, sender, asset = str(row[1]), str(row[2]), str(row[3])
            self._add_total(cur, chain, sender, asset, -1, -int(row[4]), -int(row[5]), -int(row[6]))
        self._exec(cur, "DELETE FROM funds_reservations " + where, params)  # noqa: S608 (constants)

    def _add_total(
        self,
        cur: Any,
        chain: str,
        sender: str,
        asset: str,
        holds: int,
        gas: int,
        coin: int,
        token: int,
    ) -> None:
        """Add to the kept total of ``sender``'s holds of ``asset`` on ``chain`` (amounts as
        decimal text: they exceed 64 bits). The row is made if missing (two replicas making
        it at once: one insert wins, no error) and locked for the update."""
        self._exec(
            cur,
            "INSERT INTO funds_totals (chain, sender, asset, holds, gas, coin, token) "
            "VALUES (?, ?, ?, 0, 0, '0', '0') ON CONFLICT (chain, sender, asset) DO NOTHING",
            (chain, sender, asset),
        )
        select = (
            "SELECT holds, gas, coin, token FROM funds_totals WHERE chain = ? AND sender = ? "
            "AND asset = ?"
        )
        lock = self._lock_clause()  # a constant: " FOR UPDATE" on PostgreSQL
        row = self._exec(cur, select + lock, (chain, sender, asset)).fetchone()
        self._exec(
            cur,
            "UPDATE funds_totals SET holds = ?, gas = ?, coin = ?, token = ? "
            "WHERE chain = ? AND sender = ? AND asset = ?",
            (
                int(row[0]) + holds,
                int(row[1]) + gas,
                str(int(row[2]) + coin),
                str(int(row[3]) + token),
                chain,
                sender,
                asset,
            ),
        )

    def _held_totals(
        self, cur: Any, chain: str, sender: str, exclude: str, at: int | None
    ) -> FundsHeld:
        totals: dict[str, list[int]] = {}
        for asset, holds, gas, coin, token in self._exec(
            cur,
            "SELECT asset, holds, gas, coin, token FROM funds_totals "
            "WHERE chain = ? AND sender = ?",
            (chain, sender),
        ).fetchall():
            totals[str(asset)] = [int(holds), int(gas), int(coin), int(token)]
        # less the excluded swap's own holds, and those landed at or below the height (two
        # queries: each on an index; an OR of the two would read every hold of the sender)
        rows = [  # by swap id alone (its legs: at most two rows)
            (r[2], r[3], r[4], r[5])
            for r in self._exec(
                cur,
                "SELECT chain, sender, asset, gas, coin, token FROM funds_reservations "
                "WHERE swap_id = ?",
                (exclude,),
            ).fetchall()
            if r[0] == chain and r[1] == sender
        ]
        cols = (
            "SELECT asset, gas, coin, token FROM funds_reservations WHERE chain = ? AND sender = ? "
        )
        if at is None:
            rows += self._exec(
                cur,
                cols + "AND landed_at IS NOT NULL AND swap_id <> ?",
                (chain, sender, exclude),
            ).fetchall()
        else:
            rows += self._exec(
                cur, cols + "AND landed_at <= ? AND swap_id <> ?", (chain, sender, at, exclude)
            ).fetchall()
        for asset, gas, coin, token in rows:
            total = totals[str(asset)]
            total[0] -= 1
            total[1] -= int(gas)
            total[2] -= int(coin)
            total[3] -= int(token)
        return {asset: (t[0], t[1], t[2], t[3]) for asset, t in totals.items() if t[0] > 0}

    def _funds_landed_at(self, cur: Any, chain: str, lock_id: str, height: int) -> None:
        """The watcher recorded lock ``lock_id`` at ``height``: its hold is spent there."""
        self._exec(
            cur,
            "UPDATE funds_reservations SET landed_at = ? WHERE chain = ? "
            "AND lock_id = ? AND (landed_at IS NULL OR landed_at > ?)",
            (height, chain, lock_id, height),
        )

    def _funds_unlanded_above(self, cur: Any, chain: str, height: int) -> None:
        """A reorg replaced ``chain``'s blocks above ``height``: locks there spend no longer."""
        self._exec(
            cur,
            "UPDATE funds_reservations SET landed_at = NULL WHERE chain = ? AND landed_at > ?",
            (chain, height),
        )


class Reservations:
    """The relayer's side of the holds: make a leg's :class:`LegHold`, drop one, mark a
    lock landed. (The store drops the holds a swap's input ends itself: :func:`released`.)"""

    def __init__(self, store: Store) -> None:
        self.store = store

    def leg(
        self,
        *,
        swap_id: str,
        role: Role,
        chain: str,
        sender: str,
        lock_id: str,
        asset: AssetRef | None,
    ) -> LegHold:
        """The hold of one leg, for its funds check."""
        return LegHold(self.store, swap_id, role.value, chain, sender, lock_id, asset_key(asset))

    def release(self, swap_id: str, role: Role | None = None) -> None:
        """Drop the hold of one leg (or of every leg of the swap)."""
        self.store.release_funds(swap_id, None if role is None else role.value)

    def landed(self, swap_id: str, role: Role, height: int | None) -> None:
        """The leg's lock is in the block at ``height`` as the relayer saw it (its receipt;
        None: no longer, a reorg took it out)."""
        self.store.funds_landed(swap_id, role.value, height)


def released(before: SwapState, after: SwapState) -> tuple[str | None, ...]:
    """The holds an input that took a swap from ``before`` to ``after`` ends (the store
    drops them in the input's own transaction): every leg's (None) when the swap ended, else
    each leg whose lock became confirmed or failed (its role)."""
    if after.outcome is not Outcome.OPEN:
        return () if before.outcome is not Outcome.OPEN else (None,)
    ended: tuple[str | None, ...] = ()  # (run for every input: kept to attribute reads)
    for role, was, now in (
        (Role.INITIATOR, before.initiator.phase, after.initiator.phase),
        (Role.PARTICIPANT, before.participant.phase, after.participant.phase),
    ):
        if now is not was and now in _DONE_PHASES and was not in _DONE_PHASES:
            ended += (role.value,)
    return ended
