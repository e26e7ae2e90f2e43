"""Lock-and-mint moves of one security between its home chain and a mirror: pure planning.

A *move out* locks units on the home chain (to the bridge's lock address) and, once the lock
is final (``finality_depth`` blocks deep on the home chain), mints the same quantity on the
mirror. A *move back* burns units on the mirror and, once the burn is final on the mirror,
releases the same quantity on the home chain. Mirror transfers are written back to the
home register (ibet's ``forceChangeLockedAccount``: the locked units follow the mirror's
holder), so the issuer's register of holders stays complete on the home chain.

:class:`MoveBook` is the pure, deterministic state machine of every move of one security
pair: ``book.apply(event) -> effects``. I/O lives outside (the relayer's executor sends
the effects and feeds back the chain events). Each effect is keyed ``(move_id, kind)`` and
emitted once; replaying the same events rebuilds the same book, so a relayer that crashes
between lock and mint (or burn and release) resumes without minting or releasing twice.

The supply invariant (:meth:`MoveBook.check`), at every step, in home base units:

- the home supply never changes (a lock moves units, it does not create them);
- what the mirror has minted, plus what was burnt on the mirror but not yet released, never
  exceeds what is finally locked on the home chain (the mirror never outgrows its backing);
- the circulating total across both chains, ``home_supply - locked + mirror_supply``,
  never exceeds the home supply, and equals it whenever no move is between its two legs.

Refusals happen before anything is locked: a non-positive amount, a quantity the mirror's
decimals cannot hold exactly (granularity), more than the holder's movable (free) units, a
receiver not eligible on the receiving side, a paused receiving side.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field

from bridge.compliance.model import Trade
from bridge.errors import InvalidInput
from bridge.model import Eligibility
from bridge.model.base import CanonicalModel
from bridge.types import Address, Amount

__all__ = [
    "MoveBook",
    "MoveEffect",
    "MoveEvent",
    "MoveRecord",
    "MoveRefused",
    "MoveRequest",
    "to_mirror_units",
]

Direction = Literal["out", "back"]
Stage = Literal["requested", "source_seen", "source_final", "done", "refused", "failed"]
EffectKind = Literal["lock_home", "mint_mirror", "burn_mirror", "release_home", "write_back"]


class MoveRefused(InvalidInput):
    """A move refused before anything is locked or burnt; ``field`` names the check."""


def to_mirror_units(amount: int, home_decimals: int, mirror_decimals: int) -> int:
    """``amount`` home base units in mirror base units; ``MoveRefused`` when the mirror's
    granularity cannot hold it exactly (nothing is rounded away in a move)."""
    shift = mirror_decimals - home_decimals
    if shift >= 0:
        return int(amount * 10**shift)
    unit = int(10 ** (-shift))
    if amount % unit:
        raise MoveRefused(
            "amount",
            f"must be a multiple of {unit} base units: the mirror has {mirror_decimals} "
            f"decimals, the home token {home_decimals} (move.granularity)",
            value=amount,
        )
    return int(amount // unit)


class MoveRequest(CanonicalModel):
    """A request to move ``amount`` (base units of the side it leaves) to the other side."""

    move_id: str = Field(min_length=1, max_length=128)
    direction: Direction
    holder: Address = Field(description="Who gives the units (home holder, or mirror holder).")
    receiver: Address = Field(description="Who gets them on the other side.")
    amount: Amount
    trade: Trade | None = Field(
        default=None,
        description="The move as a trade for the compliance engine: the holder as seller, "
        "the receiving investor as buyer (with residence, classes, KYC), ``amount`` as the "
        "quantity. A relayer that checks moves with the engine requires it.",
    )


class MoveEffect(CanonicalModel):
    """One action for the executor, keyed ``(move_id, kind)``: sent at most once."""

    move_id: str
    kind: EffectKind
    account: str
    to: str | None = None
    amount: Amount


class MoveRecord(CanonicalModel):
    """Where one move stands."""

    request: MoveRequest
    stage: Stage
    home_amount: Amount = Field(description="The move's quantity in home base units.")
    mirror_amount: Amount = Field(description="The same quantity in mirror base units.")
    source_height: int | None = None
    reason: str | None = None


class MoveEvent(CanonicalModel):
    """An observation fed to the book: a request, a chain event, or a new head height.

    ``kind``: ``request`` (with ``request`` and the checks' inputs), ``source_seen``
    (the lock / burn is in a block at ``height``), ``source_reorged`` (it is gone),
    ``source_failed`` (the lock / burn reverted: e.g. the holder spent the units meanwhile),
    ``head`` (the source chain's head is ``height``), ``target_done`` (mint / release
    confirmed), ``mirror_transfer`` (a transfer between mirror holders), ``write_back_done``.
    """

    kind: Literal[
        "request",
        "source_seen",
        "source_reorged",
        "source_failed",
        "head",
        "target_done",
        "mirror_transfer",
        "write_back_done",
    ]
    move_id: str | None = None
    request: MoveRequest | None = None
    movable: Amount | None = Field(default=None, description="The holder's free units now.")
    receiver_eligibility: Eligibility | None = None
    receiving_side_paused: bool = False
    height: int | None = Field(default=None, strict=True, ge=0)
    chain: Literal["home", "mirror"] | None = None
    sender: str | None = None
    recipient: str | None = None
    amount: Amount | None = None


class MoveBook:
    """Every move of one home security and its mirror (pure; see the module docstring)."""

    def __init__(
        self,
        *,
        home_supply: int,
        home_decimals: int,
        mirror_decimals: int,
        home_finality: int,
        mirror_finality: int,
    ) -> None:
        self.home_supply = home_supply
        self.home_decimals = home_decimals
        self.mirror_decimals = mirror_decimals
        self.finality = {"home": home_finality, "mirror": mirror_finality}
        self.heads = {"home": 0, "mirror": 0}
        self.moves: dict[str, MoveRecord] = {}
        self.locked = 0
        """Home base units finally locked to the bridge (released units leave it)."""
        self.mirror_supply = 0
        """Mirror base units minted and not burnt."""
        self.releasable = 0
        """Home base units burnt (final) on the mirror, not yet released on the home chain."""
        self.register: dict[str, int] = {}
        """Home register of locked units per mirror holder (what write-backs keep in step)."""
        self.mirror_balances: dict[str, int] = {}
        self.emitted: set[tuple[str, str]] = set()
        self._writebacks = 0

    # -- events ------------------------------------------------------------------------

    def apply(self, event: MoveEvent) -> tuple[MoveEffect, ...]:
        """Apply one observation; return the effects it makes due (each at most once)."""
        handler = getattr(self, f"_on_{event.kind}")
        effects: tuple[MoveEffect, ...] = handler(event)
        fresh = tuple(e for e in effects if (e.move_id, e.kind) not in self.emitted)
        self.emitted |= {(e.move_id, e.kind) for e in fresh}
        self.check()
        return fresh

    def _on_request(self, event: MoveEvent) -> tuple[MoveEffect, ...]:
        req = event.request
        if req is None:
            raise InvalidInput("request", "a request event carries the request")
        known = self.moves.get(req.move_id)
        if known is not None:
            if known.request != req:
                raise InvalidInput("move_id", "already used for another move", value=req.move_id)
            return ()  # a replayed request: nothing new
        try:
            home, mirror = self._quantities(req)
            self._refuse_unless_allowed(req, event)
        except MoveRefused as exc:
            self.moves[req.move_id] = MoveRecord(
                request=req, stage="refused", home_amount=0, mirror_amount=0, reason=str(exc)
            )
            raise
        self.moves[req.move_id] = MoveRecord(
            request=req, stage="requested", home_amount=home, mirror_amount=mirror
        )
        kind: EffectKind = "lock_home" if req.direction == "out" else "burn_mirror"
        amount = home if req.direction == "out" else mirror
        return (MoveEffect(move_id=req.move_id, kind=kind, account=req.holder, amount=amount),)

    def _quantities(self, req: MoveRequest) -> tuple[int, int]:
        if req.amount <= 0:
            raise MoveRefused("amount", "must be positive (move.amount)", value=req.amount)
        if req.direction == "out":
            return req.amount, to_mirror_units(req.amount, self.home_decimals, self.mirror_decimals)
        home = to_mirror_units(req.amount, self.mirror_decimals, self.home_decimals)
        return home, req.amount

    def _refuse_unless_allowed(self, req: MoveRequest, event: MoveEvent) -> None:
        # units of this holder already promised to moves whose source leg is not on chain yet
        pending = sum(
            r.request.amount
            for r in self.moves.values()
            if r.request.direction == req.direction
            and r.request.holder == req.holder
            and r.stage == "requested"
        )
        if event.movable is None or req.amount + pending > event.movable:
            raise MoveRefused(
                "amount",
                f"more than the holder's movable units ({event.movable}, {pending} promised to "
                "other moves); frozen, locked and pending units stay where they are "
                "(move.free_units)",
                value=req.amount,
            )
        if req.direction == "back" and req.amount + pending > self.mirror_balances.get(
            req.holder, 0
        ):
            raise MoveRefused("amount", "more than the holder has on the mirror", value=req.amount)
        eligibility = event.receiver_eligibility
        if eligibility is None or not eligibility.eligible:
            missing = ", ".join(eligibility.missing) if eligibility else "no eligibility read"
            raise MoveRefused(
                "receiver",
                f"not eligible on the receiving side ({missing}) (token.required_claims)",
                value=req.receiver,
            )
        if eligibility.wallet.lower() != req.receiver.lower():
            raise MoveRefused("receiver", "the eligibility read is for another wallet")
        if event.receiving_side_paused:
            raise MoveRefused("receiver", "the receiving side is paused (token.state)")

    def _record(self, event: MoveEvent) -> MoveRecord:
        if event.move_id is None or event.move_id not in self.moves:
            raise InvalidInput("move_id", "no such move", value=event.move_id)
        return self.moves[event.move_id]

    def _on_source_seen(self, event: MoveEvent) -> tuple[MoveEffect, ...]:
        record = self._record(event)
        if record.stage != "requested" or event.height is None:
            return ()
        self.moves[record.request.move_id] = record.model_copy(
            update={"stage": "source_seen", "source_height": event.height}
        )
        if record.request.direction == "back":  # the burn took the units off the mirror
            self.mirror_supply -= record.mirror_amount
            self._debit(record.request.holder, record.mirror_amount)
        return self._finalise()

    def _on_source_reorged(self, event: MoveEvent) -> tuple[MoveEffect, ...]:
        record = self._record(event)
        if record.stage == "source_seen":  # not final yet: forget the block it was in
            self.moves[record.request.move_id] = record.model_copy(
                update={"stage": "requested", "source_height": None}
            )
            if record.request.direction == "back":
                self.mirror_supply += record.mirror_amount
                self._debit(record.request.holder, -record.mirror_amount)
        return ()

    def _on_source_failed(self, event: MoveEvent) -> tuple[MoveEffect, ...]:
        record = self._record(event)
        if record.stage == "requested":  # nothing moved: the move ends here
            self.moves[record.request.move_id] = record.model_copy(
                update={"stage": "failed", "reason": "the source leg reverted on chain"}
            )
        return ()

    def _on_head(self, event: MoveEvent) -> tuple[MoveEffect, ...]:
        if event.height is None or event.chain is None:
            raise InvalidInput("height", "a head event names its chain and height")
        self.heads[event.chain] = max(self.heads[event.chain], event.height)
        return self._finalise()

    def _finalise(self) -> tuple[MoveEffect, ...]:
        effects: list[MoveEffect] = []
        for move_id, record in list(self.moves.items()):
            if record.stage != "source_seen" or record.source_height is None:
                continue
            side = "home" if record.request.direction == "out" else "mirror"
            if self.heads[side] < record.source_height + self.finality[side]:
                continue
            self.moves[move_id] = record.model_copy(update={"stage": "source_final"})
            req = record.request
            if req.direction == "out":
                self.locked += record.home_amount
                effects.append(
                    MoveEffect(
                        move_id=move_id,
                        kind="mint_mirror",
                        account=req.receiver,
                        amount=record.mirror_amount,
                    )
                )
            else:
                self.releasable += record.home_amount
                effects.append(
                    MoveEffect(
                        move_id=move_id,
                        kind="release_home",
                        account=req.receiver,
                        amount=record.home_amount,
                    )
                )
        return tuple(effects)

    def _on_target_done(self, event: MoveEvent) -> tuple[MoveEffect, ...]:
        record = self._record(event)
        if record.stage != "source_final":
            return ()  # a replay, or a confirmation for a leg not due: ignored
        req = record.request
        if req.direction == "out":
            if self.mirror_home_units() + record.home_amount + self.releasable > self.locked:
                raise InvalidInput("target_done", "a mint beyond what is locked (never sent)")
            self.mirror_supply += record.mirror_amount
            self.mirror_balances[req.receiver] = (
                self.mirror_balances.get(req.receiver, 0) + record.mirror_amount
            )
            self.register[req.receiver] = self.register.get(req.receiver, 0) + record.home_amount
        else:
            self.releasable -= record.home_amount
            self.locked -= record.home_amount
            self.register[req.holder] = self.register.get(req.holder, 0) - record.home_amount
        self.moves[req.move_id] = record.model_copy(update={"stage": "done"})
        return ()

    def _debit(self, holder: str, amount: int) -> None:
        self.mirror_balances[holder] = self.mirror_balances.get(holder, 0) - amount

    def _on_mirror_transfer(self, event: MoveEvent) -> tuple[MoveEffect, ...]:
        if event.sender is None or event.recipient is None or event.amount is None:
            raise InvalidInput("mirror_transfer", "sender, recipient and amount are required")
        if self.mirror_balances.get(event.sender, 0) < event.amount:
            raise InvalidInput("mirror_transfer", "more than the sender holds on the mirror")
        self._debit(event.sender, event.amount)
        self.mirror_balances[event.recipient] = (
            self.mirror_balances.get(event.recipient, 0) + event.amount
        )
        self._writebacks += 1
        home = to_mirror_units(event.amount, self.mirror_decimals, self.home_decimals)
        return (
            MoveEffect(
                move_id=f"write-back-{self._writebacks}",
                kind="write_back",
                account=event.sender,
                to=event.recipient,
                amount=home,
            ),
        )

    def _on_write_back_done(self, event: MoveEvent) -> tuple[MoveEffect, ...]:
        if event.sender is None or event.recipient is None or event.amount is None:
            raise InvalidInput("write_back_done", "sender, recipient and amount are required")
        self.register[event.sender] = self.register.get(event.sender, 0) - event.amount
        self.register[event.recipient] = self.register.get(event.recipient, 0) + event.amount
        return ()

    # -- invariants --------------------------------------------------------------------

    def mirror_home_units(self) -> int:
        """The mirror's supply in home base units."""
        shift = self.home_decimals - self.mirror_decimals
        factor = int(10 ** abs(shift))
        return self.mirror_supply * factor if shift >= 0 else self.mirror_supply // factor

    def circulating(self) -> int:
        """Units in holders' hands across both chains, in home base units."""
        return self.home_supply - self.locked + self.mirror_home_units()

    def in_flight(self) -> bool:
        """True while a move is between its two legs."""
        return any(r.stage in ("source_seen", "source_final") for r in self.moves.values())

    def check(self) -> None:
        """Raise ``AssertionError`` if the supply invariant (module docstring) is broken."""
        backing = self.mirror_home_units() + self.releasable
        if backing > self.locked:
            raise AssertionError(f"mirror {backing} exceeds what is locked {self.locked}")
        if self.locked < 0 or self.mirror_supply < 0 or self.releasable < 0:
            raise AssertionError("a negative quantity")
        if self.circulating() > self.home_supply:
            raise AssertionError("more in circulation than the home supply")
        if not self.in_flight() and self.circulating() != self.home_supply:
            raise AssertionError("supply not conserved with no move in flight")
        if any(v < 0 for v in self.mirror_balances.values()):
            raise AssertionError("a negative mirror balance")
        if sum(self.mirror_balances.values()) != self.mirror_supply:
            raise AssertionError("mirror balances do not add up to the mirror supply")

    def register_follows_mirror(self) -> Mapping[str, int]:
        """Holders whose home register entry differs from their mirror balance (in home
        units); empty once every write-back is done."""
        out: dict[str, int] = {}
        for holder in set(self.register) | set(self.mirror_balances):
            mirror = to_mirror_units(
                self.mirror_balances.get(holder, 0), self.mirror_decimals, self.home_decimals
            )
            if self.register.get(holder, 0) != mirror:
                out[holder] = self.register.get(holder, 0) - mirror
        return out
