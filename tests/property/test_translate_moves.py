"""Lock-and-mint moves (pure): the supply invariant under crashes, reorgs and replays.

A hypothesis state machine drives :class:`bridge.translate.move.MoveBook` as a relayer
would: requests (some refused), the executor sending effects late or twice, chain events
seen, reorged away and finalised, transfers between mirror holders with their write-backs,
and crashes after which the book is rebuilt by replaying its journal of events.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import event as note_event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bridge.errors import InvalidInput
from bridge.model import EvmChain, EvmContractLocator
from bridge.model.chain import AssetRef
from bridge.model.investor import Eligibility
from bridge.translate.move import (
    MoveBook,
    MoveEffect,
    MoveEvent,
    MoveRefused,
    MoveRequest,
    to_mirror_units,
)
from bridge.types import to_checksum_address

HOLDERS = tuple(to_checksum_address("0x" + f"{i:02x}" * 20) for i in (0xA1, 0xB2, 0xC3))
REF = AssetRef(chain=EvmChain(chain_id=1), locator=EvmContractLocator(address="0x" + "11" * 20))
SUPPLY = 10_000
HOME_DECIMALS, MIRROR_DECIMALS = 2, 0  # the mirror holds whole units only (ibet-like)


def eligibility(wallet: str, eligible: bool) -> Eligibility:
    return Eligibility(
        asset=REF, wallet=wallet, eligible=eligible, missing=() if eligible else ("kyc",)
    )


def new_book() -> MoveBook:
    return MoveBook(
        home_supply=SUPPLY,
        home_decimals=HOME_DECIMALS,
        mirror_decimals=MIRROR_DECIMALS,
        home_finality=3,
        mirror_finality=2,
    )


class Moves(RuleBasedStateMachine):
    """The relayer's view: a journal of events, a book rebuilt from it after each crash."""

    def __init__(self) -> None:
        super().__init__()
        self.book = new_book()
        self.journal: list[MoveEvent] = []
        self.sent: set[tuple[str, str]] = set()
        self.pending: list[MoveEffect] = []  # effects the executor has not sent yet
        self.home_free = {h: SUPPLY // len(HOLDERS) for h in HOLDERS}
        self.home_free[HOLDERS[0]] += SUPPLY - sum(self.home_free.values())
        self.seen: list[str] = []  # source legs in a block, not yet final
        self.due: list[str] = []  # target legs sent, not yet confirmed
        self.counter = 0
        self.mirror_chain = 0  # mirror supply as the executor made it on chain

    def feed(self, event: MoveEvent) -> None:
        effects = self.book.apply(event)
        self.journal.append(event)
        for effect in effects:
            key = (effect.move_id, effect.kind)
            assert key not in self.sent, f"effect asked twice: {key}"
            if effect.kind in ("mint_mirror", "release_home"):
                # the target leg acts only on a source event finality-deep
                record = self.book.moves[effect.move_id]
                side = "home" if effect.kind == "mint_mirror" else "mirror"
                assert record.source_height is not None
                assert self.book.heads[side] >= record.source_height + self.book.finality[side]
            self.pending.append(effect)

    @rule(
        holder=st.sampled_from(HOLDERS),
        receiver=st.sampled_from(HOLDERS),
        amount=st.one_of(st.integers(1, 30).map(lambda units: units * 100), st.integers(-5, 4_000)),
        eligible=st.sampled_from([True, True, True, False]),
        paused=st.sampled_from([False, False, False, True]),
        back=st.booleans(),
    )
    def request(
        self, holder: str, receiver: str, amount: int, eligible: bool, paused: bool, back: bool
    ) -> None:
        self.counter += 1
        movable = self.book.mirror_balances.get(holder, 0) if back else self.home_free[holder]
        request = MoveRequest(
            move_id=f"m{self.counter}",
            direction="back" if back else "out",
            holder=holder,
            receiver=receiver,
            amount=max(amount, 0),
        )
        event = MoveEvent(
            kind="request",
            request=request,
            movable=movable,
            receiver_eligibility=eligibility(receiver, eligible),
            receiving_side_paused=paused,
        )
        before = (self.book.locked, self.book.mirror_supply)
        try:
            self.feed(event)
        except MoveRefused as refused:
            # refused before anything is locked or burnt, naming the check
            assert (self.book.locked, self.book.mirror_supply) == before
            assert refused.field in ("amount", "receiver")  # noqa: PT017 - a refusal may or may not come
            assert self.book.moves[request.move_id].stage == "refused"
            self.journal.append(event)  # the refusal is journalled like any input
        else:
            assert request.amount <= movable
            assert eligible
            assert not paused

    @precondition(lambda self: any(v > 0 for v in self.book.mirror_balances.values()))
    @rule(data=st.data())
    def request_back(self, data: st.DataObject) -> None:
        """A mirror holder moves part of its balance home (to its own home account)."""
        holders = sorted(h for h, v in self.book.mirror_balances.items() if v > 0)
        holder = data.draw(st.sampled_from(holders))
        amount = data.draw(st.integers(1, self.book.mirror_balances[holder]))
        self.counter += 1
        request = MoveRequest(
            move_id=f"m{self.counter}",
            direction="back",
            holder=holder,
            receiver=holder,
            amount=amount,
        )
        event = MoveEvent(
            kind="request",
            request=request,
            movable=self.book.mirror_balances[holder],
            receiver_eligibility=eligibility(holder, True),
        )
        try:
            self.feed(event)
        except MoveRefused:  # other burns of this holder are pending
            self.journal.append(event)

    @precondition(lambda self: self.pending)
    @rule(data=st.data())
    def executor_sends(self, data: st.DataObject) -> None:
        self._send(self.pending.pop(data.draw(st.integers(0, len(self.pending) - 1))))

    def _send(self, effect: MoveEffect) -> None:
        self.sent.add((effect.move_id, effect.kind))
        if effect.kind in ("lock_home", "burn_mirror"):
            # the chain refuses a lock / burn of units the holder no longer has
            has = (
                self.home_free[effect.account]
                if effect.kind == "lock_home"
                else self.book.mirror_balances.get(effect.account, 0)
            )
            if has < effect.amount:
                note_event("a source leg reverted")
                self.feed(MoveEvent(kind="source_failed", move_id=effect.move_id))
                return
            self.seen.append(effect.move_id)
            if effect.kind == "lock_home":
                self.home_free[effect.account] -= effect.amount
            else:  # a burn takes the units at once: the book sees it in the next block
                self.mirror_chain -= effect.amount
                height = self.book.heads["mirror"]
                self.feed(MoveEvent(kind="source_seen", move_id=effect.move_id, height=height))
        elif effect.kind in ("mint_mirror", "release_home"):
            self.due.append(effect.move_id)
            if effect.kind == "mint_mirror":
                self.mirror_chain += effect.amount
            if effect.kind == "release_home":
                self.home_free[effect.account] += effect.amount
        else:  # write_back: the home register follows the mirror holder
            sender, recipient = effect.account, effect.to
            assert recipient is not None
            self.feed(
                MoveEvent(
                    kind="write_back_done", sender=sender, recipient=recipient, amount=effect.amount
                )
            )

    @precondition(lambda self: self.seen)
    @rule(data=st.data(), ahead=st.integers(0, 3))
    def source_seen(self, data: st.DataObject, ahead: int) -> None:
        """A source leg lands in a block at or just above the head of its chain."""
        move_id = data.draw(st.sampled_from(self.seen))
        record = self.book.moves[move_id]
        side = "home" if record.request.direction == "out" else "mirror"
        height = self.book.heads[side] + ahead
        if (
            side == "mirror"
            and record.stage == "requested"
            and self.book.mirror_balances.get(record.request.holder, 0) < record.mirror_amount
        ):  # a reorged burn re-executed after the units were spent: it reverts
            self.feed(MoveEvent(kind="source_failed", move_id=move_id))
            return
        self.feed(MoveEvent(kind="source_seen", move_id=move_id, height=height))

    @precondition(lambda self: self.seen)
    @rule(data=st.data())
    def source_reorged(self, data: st.DataObject) -> None:
        move_id = data.draw(st.sampled_from(self.seen))
        self.feed(MoveEvent(kind="source_reorged", move_id=move_id))

    @rule(chain=st.sampled_from(["home", "mirror"]), blocks=st.integers(1, 3))
    def head(self, chain: str, blocks: int) -> None:
        height = self.book.heads[chain] + blocks
        self.feed(MoveEvent(kind="head", chain=chain, height=height))  # type: ignore[arg-type]

    @precondition(lambda self: self.due)
    @rule(data=st.data(), twice=st.booleans())
    def target_done(self, data: st.DataObject, twice: bool) -> None:
        move_id = self.due.pop(data.draw(st.integers(0, len(self.due) - 1)))
        note_event(f"completed a move {self.book.moves[move_id].request.direction}")
        for _ in range(2 if twice else 1):  # a duplicated confirmation changes nothing
            self.feed(MoveEvent(kind="target_done", move_id=move_id))

    @rule(
        sender=st.sampled_from(HOLDERS),
        recipient=st.sampled_from(HOLDERS),
        amount=st.integers(1, 50),
    )
    def mirror_transfer(self, sender: str, recipient: str, amount: int) -> None:
        if self.book.mirror_balances.get(sender, 0) < amount:
            with pytest.raises(InvalidInput):
                self.book.apply(
                    MoveEvent(
                        kind="mirror_transfer", sender=sender, recipient=recipient, amount=amount
                    )
                )
            return
        note_event("a transfer on the mirror")
        self.feed(
            MoveEvent(kind="mirror_transfer", sender=sender, recipient=recipient, amount=amount)
        )

    def _send_all(self) -> None:
        while self.pending:
            self._send(self.pending.pop(0))

    @rule()
    def settle(self) -> None:
        """The relayer catches up: every effect sent, every source leg in a block and
        finality-deep on both chains, every target leg confirmed."""
        self._send_all()
        for move_id in list(self.seen):
            record = self.book.moves[move_id]
            side = "home" if record.request.direction == "out" else "mirror"
            if (
                side == "mirror"
                and record.stage == "requested"
                and self.book.mirror_balances.get(record.request.holder, 0) < record.mirror_amount
            ):
                self.feed(MoveEvent(kind="source_failed", move_id=move_id))
                continue
            self.feed(MoveEvent(kind="source_seen", move_id=move_id, height=self.book.heads[side]))
        for chain in ("home", "mirror"):
            height = self.book.heads[chain] + 5
            self.feed(MoveEvent(kind="head", chain=chain, height=height))  # type: ignore[arg-type]
        self._send_all()
        while self.due:
            move_id = self.due.pop(0)
            note_event(f"completed a move {self.book.moves[move_id].request.direction}")
            self.feed(MoveEvent(kind="target_done", move_id=move_id))
        self.seen = [m for m in self.seen if self.book.moves[m].stage == "requested"]

    @rule()
    def crash_and_replay(self) -> None:
        """The relayer restarts: the book is rebuilt from the journal; it asks for nothing
        already asked (the executor keys effects by (move, kind))."""
        book = new_book()
        asked: set[tuple[str, str]] = set()
        for event in self.journal:
            try:
                effects = book.apply(event)
            except MoveRefused:
                continue
            asked |= {(e.move_id, e.kind) for e in effects}
        assert book.locked == self.book.locked
        assert book.mirror_supply == self.book.mirror_supply
        assert book.mirror_balances == self.book.mirror_balances
        assert {k: r.stage for k, r in book.moves.items()} == {
            k: r.stage for k, r in self.book.moves.items()
        }
        assert asked == self.book.emitted
        self.book = book

    @invariant()
    def supply_is_conserved(self) -> None:
        """Home supply constant; the mirror (plus burnt-but-unreleased units) never exceeds
        what is finally locked; circulation equals the supply when no move is in flight."""
        self.book.check()
        backing = self.book.mirror_home_units() + self.book.releasable
        assert backing <= self.book.locked
        assert self.book.circulating() <= SUPPLY
        if not self.book.in_flight():
            assert self.book.circulating() == SUPPLY
        minted_home = to_mirror_units(self.mirror_chain, MIRROR_DECIMALS, HOME_DECIMALS)
        assert minted_home <= self.book.locked  # what the mirror chain holds is backed

    @invariant()
    def register_follows_the_mirror(self) -> None:
        """With no effect waiting and no move in flight, the home register of locked units
        equals each holder's mirror balance."""
        if not self.pending and not self.book.in_flight() and not self.due:
            assert self.book.register_follows_mirror() == {}


TestMoves = Moves.TestCase
TestMoves.settings = settings(
    max_examples=30, stateful_step_count=60, deadline=None, suppress_health_check=list(HealthCheck)
)


def test_granularity_refuses_what_the_mirror_cannot_hold() -> None:
    assert to_mirror_units(1_500, 2, 0) == 15
    assert to_mirror_units(15, 0, 2) == 1_500
    with pytest.raises(MoveRefused, match="multiple of 100"):
        to_mirror_units(1_550, 2, 0)


def test_an_ineligible_receiver_is_refused_before_anything_is_locked() -> None:
    book = new_book()
    request = MoveRequest(
        move_id="m1", direction="out", holder=HOLDERS[0], receiver=HOLDERS[1], amount=500
    )
    with pytest.raises(MoveRefused, match="not eligible"):
        book.apply(
            MoveEvent(
                kind="request",
                request=request,
                movable=1_000,
                receiver_eligibility=eligibility(HOLDERS[1], False),
            )
        )
    assert book.emitted == set()
    assert book.moves["m1"].stage == "refused"


def test_mint_waits_for_finality_and_happens_once() -> None:
    book = new_book()
    request = MoveRequest(
        move_id="m1", direction="out", holder=HOLDERS[0], receiver=HOLDERS[1], amount=500
    )
    ok = eligibility(HOLDERS[1], True)
    (lock,) = book.apply(
        MoveEvent(kind="request", request=request, movable=1_000, receiver_eligibility=ok)
    )
    assert (lock.kind, lock.amount) == ("lock_home", 500)
    assert book.apply(MoveEvent(kind="source_seen", move_id="m1", height=10)) == ()
    assert book.apply(MoveEvent(kind="head", chain="home", height=12)) == ()  # 2 deep, not 3
    (mint,) = book.apply(MoveEvent(kind="head", chain="home", height=13))
    assert (mint.kind, mint.amount, mint.account) == ("mint_mirror", 5, HOLDERS[1])
    assert book.apply(MoveEvent(kind="head", chain="home", height=20)) == ()
    book.apply(MoveEvent(kind="target_done", move_id="m1"))
    book.apply(MoveEvent(kind="target_done", move_id="m1"))  # replayed: no second mint
    assert (book.mirror_supply, book.locked, book.circulating()) == (5, 500, SUPPLY)
