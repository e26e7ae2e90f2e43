"""The interop suite with the cash leg on the embedded Algorand ledger (``--chains evm-algorand``).

The security chain is the same as in :mod:`relayer.interop.world` (the real T-REX suite on
anvil or py-evm); the cash chain is an :class:`~adapters.algorand.ledger.EmbeddedLedger`
(the real go-algorand evaluator) with a USD stablecoin ASA whose issuer holds the freeze and
clawback roles, and a worthless look-alike ASA (``Decoy USD``) created by the third party.
The relayer is wired to it as the daemon wires an Algorand chain
(:func:`relayer.daemon.algorand_runtime`): a per-lock logic-signature escrow
(:class:`~adapters.algorand.htlc.AlgorandHtlc`), deadlines in rounds, the ASA's own dry run
and the escrow funding pre-flight, and on every (re)start an HTLC port whose scan starts at
the daemon's look-back (``head - ALGOD_LOOKBACK_ROUNDS``) or lower, where the store's open
swaps recorded their locks (:meth:`~relayer.store.Store.recovery_height`).

:class:`AlgorandCashMachine` is :class:`~relayer.interop.machine.InteropMachine` with the
cash chain's hooks pointed at the ledger, and three rules of its own:

==============================  ==========================================================
rule (actor)                    what it does
==============================  ==========================================================
``counterparty_decoy_escrow``   the buyer funds an escrow of *another of our templates*
(counterparty)                  (the regulated one, naming an app of its own and itself
                                as the asset's creator) or a *look-alike* of the plain-ASA
                                template (another fee cap): hashlock, receiver, amount,
                                deadline and asset id are the leg's, the address is not
                                (issue 13 item 1 on Algorand)
``agent_clawback``              the stablecoin issuer claws part (or all) of an open cash
(token agent)                   escrow back (issue 13 item 8)
``long_outage``                 the cash chain runs past the daemon's look-back (more than
(chains, relayer)               ``ALGOD_LOOKBACK_ROUNDS`` rounds, the relayer ticking
                                along), then the relayer restarts (issue 13 item 6)
==============================  ==========================================================

Rounds are final on Algorand: the cash chain is never reorganised, and its submissions are
never dropped by the machine (both stay EVM faults). Every block of the ledger comes
``block_interval["cash"]`` seconds after the previous one (a transaction's block too), so
the ledger keeps the block time the relayer is configured with.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nacl.signing
from algosdk import transaction
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

import relayer.daemon
from adapters.algorand import arc3
from adapters.algorand.algod import EmbeddedAlgodClient
from adapters.algorand.asa import AsaAdapter
from adapters.algorand.chain import AlgodChain
from adapters.algorand.deploy import deploy_stablecoin
from adapters.algorand.htlc import AlgorandHtlc, HtlcKind, HtlcTerms, lock_transactions
from adapters.algorand.ledger import EmbeddedLedger, Snapshot
from adapters.algorand.signer import AlgorandSigner
from bridge.errors import BridgeError, NotFound
from bridge.model import AssetRef, Capability
from bridge.swap import Outcome, Role
from relayer.interop.machine import InteropMachine, SwapRecord
from relayer.service import LegOrder
from relayer.store import Store

__all__ = ["AlgoCash", "AlgorandCashMachine", "algo_cash", "build_algo_cash"]

MICROALGOS = 100_000_000
"""Microalgos each party starts with."""
ASA_TOTAL = 10**15
"""Base units each of the two ASAs is created with (all held by its creator at first)."""
CASH_FUNDS = 10**12
"""Base units of the stablecoin (and the decoy) each buyer and the third party start with."""
OUTAGE_TICK_ROUNDS = 100
"""Rounds between the relayer's ticks while the cash chain outlives the look-back (a swap
with a claim due meanwhile is marked outside the guarantees, as any idle relayer)."""
DECOY_APP_ID = 424_242
"""The app id a regulated-template decoy names (an app of the counterparty's, not the
asset's)."""


@dataclass
class AlgoCash:
    """The cash chain on the embedded Algorand ledger, and every party's key there."""

    ledger: EmbeddedLedger
    algod: EmbeddedAlgodClient
    chain: AlgodChain
    usd: AssetRef
    decoy: AssetRef
    issuer: AlgorandSigner
    seller: AlgorandSigner
    buyers: dict[str, AlgorandSigner]
    third: AlgorandSigner
    operator: AlgorandSigner
    interval: int = 3
    """Seconds between the latest block and the next one (every block, a transaction's too)."""
    htlc: AlgorandHtlc = field(init=False)
    """The machine's own reader of every escrow (from round 1; never the relayer's port)."""
    _base: Snapshot | None = None

    def __post_init__(self) -> None:
        self.htlc = AlgorandHtlc(self.algod, from_round=1)

    def clock(self) -> float:
        """The ledger's clock: the next block comes ``interval`` seconds after the latest."""
        return float(self.ledger.latest_timestamp + self.interval)

    def mark_base(self) -> None:
        """Remember the ledger's state as the start of every example."""
        self._base = self.ledger.snapshot()

    def reset(self, at: int) -> None:
        """Back to the base state, then one block at Unix time ``at`` (the security chain's
        time: both chains start an example together); a fresh reader."""
        assert self._base is not None
        self.ledger.restore(self._base)
        gap = at - self.ledger.latest_timestamp
        if gap > 0:
            self.mine(1, gap)
        self.htlc = AlgorandHtlc(self.algod, from_round=1)

    def mine(self, blocks: int, interval: int) -> None:
        """``blocks`` empty blocks, ``interval`` seconds apart."""
        before, self.interval = self.interval, max(interval, 1)
        try:
            self.ledger.advance(blocks)
        finally:
            self.interval = before

    def units(self, asset: AssetRef, address: str) -> int:
        """``address``'s balance of ``asset`` (0 when not opted in)."""
        holding = self.ledger.asset_holding(address, _asset_id(asset))
        return 0 if holding is None else int(holding["a"])


def _asset_id(asset: AssetRef) -> int:
    return int(asset.locator.asset_id)  # type: ignore[union-attr]


def build_algo_cash() -> AlgoCash:
    """A fresh ledger with both ASAs, the parties funded and opted in; base state marked."""
    holder: list[AlgoCash] = []

    def clock() -> float:
        return holder[0].clock() if holder else 1_000_000_000.0

    ledger = EmbeddedLedger(clock=clock, genesis_timestamp=1_000_000_000)
    algod = EmbeddedAlgodClient(ledger, wait_timeout=0.0)
    chain = AlgodChain(algod)
    names = ("issuer", "seller", "custodied", "external", "third", "operator")
    keys = {name: _signer_from_seed(f"interop:algorand:{name}") for name in names}
    sp = ledger.suggested_params()
    funding = [
        transaction.PaymentTxn(ledger.dispenser, sp, k.address, MICROALGOS)  # type: ignore[no-untyped-call]
        for k in keys.values()
    ]
    _submit_group(ledger, [(t, None) for t in funding])
    content = arc3.ContentStore(Path(tempfile.mkdtemp(prefix="stbridge-interop-arc3-")))
    usd = deploy_stablecoin(
        chain, keys["issuer"], currency="USD", store=content, total=ASA_TOTAL, decimals=6
    )
    decoy = deploy_stablecoin(
        chain,
        keys["third"],
        currency="USD",
        store=content,
        total=ASA_TOTAL,
        decimals=6,
        name="Decoy USD",
        unit_name="DUSD",
    )
    asa = AsaAdapter(chain)
    refs = (asa.ref(usd.asset_id), asa.ref(decoy.asset_id))
    sp = ledger.suggested_params()
    # one group of opt-ins (the third party created the decoy: it holds it already), one of
    # transfers: the stablecoin to both buyers and the third party, the decoy to the buyers
    opt_ins: list[tuple[Any, AlgorandSigner | None]] = []
    for name in ("seller", "custodied", "external", "third"):
        for ref in refs:
            if not (name == "third" and ref == refs[1]):
                address = keys[name].address
                txn = transaction.AssetTransferTxn(address, sp, address, 0, _asset_id(ref))  # type: ignore[no-untyped-call]
                opt_ins.append((txn, keys[name]))
    _submit_group(ledger, opt_ins)
    payouts: list[tuple[Any, AlgorandSigner | None]] = []
    for source, ref, targets in (
        ("issuer", refs[0], ("custodied", "external", "third")),
        ("third", refs[1], ("custodied", "external")),
    ):
        for name in targets:
            txn = transaction.AssetTransferTxn(  # type: ignore[no-untyped-call]
                keys[source].address, sp, keys[name].address, CASH_FUNDS, _asset_id(ref)
            )
            payouts.append((txn, keys[source]))
    _submit_group(ledger, payouts)
    cash = AlgoCash(
        ledger=ledger,
        algod=algod,
        chain=chain,
        usd=refs[0],
        decoy=refs[1],
        issuer=keys["issuer"],
        seller=keys["seller"],
        buyers={"custodied": keys["custodied"], "external": keys["external"]},
        third=keys["third"],
        operator=keys["operator"],
    )
    holder.append(cash)
    cash.mark_base()
    return cash


def _signer_from_seed(label: str) -> AlgorandSigner:
    """A signer whose ed25519 seed is SHA-256 of ``label`` (the same parties, hence the same
    escrow addresses, in every process: a seed replays the same workload)."""
    seed = hashlib.sha256(label.encode()).digest()
    public = bytes(nacl.signing.SigningKey(seed).verify_key)
    return AlgorandSigner(base64.b64encode(seed + public).decode())


def _submit_group(ledger: EmbeddedLedger, txns: list[tuple[Any, AlgorandSigner | None]]) -> None:
    """Sign ``txns`` (None: the ledger's dispenser) as one atomic group and commit it."""
    transaction.assign_group_id([t for t, _ in txns])  # type: ignore[no-untyped-call]
    signed = [ledger.sign(t) if signer is None else signer.sign_many([t])[0] for t, signer in txns]
    ledger.submit(signed)


_CASH: list[AlgoCash] = []


def algo_cash() -> AlgoCash:
    """The process-wide Algorand cash chain (built on first use)."""
    if not _CASH:
        _CASH.append(build_algo_cash())
    return _CASH[0]


class AlgorandCashMachine(InteropMachine):
    """:class:`~relayer.interop.machine.InteropMachine` with the cash leg on the embedded
    Algorand ledger (see the module docstring)."""

    EVM_CHAINS = ("sec",)

    def _setup_chains(self) -> None:
        self.algo = algo_cash()
        self.algo.reset(at=int(self.world.sec.now().timestamp()))
        self.clawed = 0
        """Units of the stablecoin the issuer clawed back out of escrows this example."""
        self.restarts = 0

    # ------------------------------------------------------------------ hooks
    def begin(self) -> None:
        self.algo.interval = self.block_interval["cash"]
        super().begin()

    def _head(self, chain: str) -> int:
        return self.algo.ledger.last_round if chain == "cash" else super()._head(chain)

    def _now(self, chain: str) -> int:
        return self.algo.ledger.last_round if chain == "cash" else super()._now(chain)

    def _time(self, chain: str) -> int:
        return self.algo.ledger.latest_timestamp if chain == "cash" else super()._now(chain)

    def _seconds(self, chain: str, units: int) -> int:
        if chain != "cash":
            return units
        return units * self._setup("cash").block_seconds()[1]

    def _htlc(self, chain: str) -> Any:
        return self.algo.htlc if chain == "cash" else super()._htlc(chain)

    def _asset(self, name: str) -> AssetRef | None:
        return {"cash": self.algo.usd, "decoy": self.algo.decoy}.get(name)

    def _third(self, chain: str) -> Any:
        return self.algo.third if chain == "cash" else super()._third(chain)

    def _mine_on(self, chain: str, blocks: int, interval: int) -> None:
        if chain != "cash":
            super()._mine_on(chain, blocks, interval)
            return
        self.algo.mine(blocks, interval)

    def _lock_state_of(self, chain: str, lock_id: str) -> str:
        """As in the base machine; an Algorand escrow that still holds anything of its
        sender's (``underfunded``: part clawed back; ``unknown`` with its deposit: emptied
        of the asset) is ``open``: it is its sender's to refund."""
        if chain != "cash":
            return super()._lock_state_of(chain, lock_id)
        try:
            state = self.algo.htlc.get(lock_id).state
        except NotFound:
            return "absent"
        if state in ("underfunded", "unknown"):
            return "open" if self.algo.chain.algo_balance(lock_id) > 0 else "absent"
        return str(state)

    def _cash_leg(self, external: bool, amount: int) -> tuple[Any, LegOrder]:
        buyer = self.algo.buyers["external" if external else "custodied"]
        leg = LegOrder(
            chain="cash",
            asset=self.algo.usd,
            amount=amount,
            sender=buyer.address,
            receiver=self.algo.seller.address,
        )
        return buyer, leg

    def _cash_runtime(self, evm: Any, store: Store) -> Any:
        """The Algorand runtime as the daemon wires it for an algod endpoint
        (:func:`relayer.daemon.algorand_runtime`): the HTLC port's scan starts at the
        look-back, or lower where the store's open swaps recorded their locks (a new port on
        every start: a restart forgets every escrow it knew); the relayer's operator key and
        the custodied buyer's."""
        algo, setup = self.algo, self._setup("cash")
        return relayer.daemon.algorand_runtime(
            name="cash",
            chain=algo.chain,
            timing=setup.timing,
            confirmations=setup.confirmations,
            signers=lambda: [algo.operator, algo.buyers["custodied"]],
            store=store,
        )

    def _scan(self) -> None:
        """A secret is public once a claim revealing it is on the ledger (a group the
        evaluator refuses is not committed, and reveals nothing), or in the security
        chain's call data."""
        super()._scan()
        for swap in self.swaps:
            if swap.hashlock not in self.public and self.algo.htlc.revealed_secret(swap.hashlock):
                self.public.add(swap.hashlock)

    def _chain_state_key(self) -> tuple[str, ...]:
        ledger = self.algo.ledger
        return (*super()._chain_state_key(), str(ledger.last_round), str(ledger.evaluations))

    def _holders(self) -> dict[str, list[tuple[str, str]]]:
        holders = super()._holders()
        a = self.algo
        cash_side = [
            ("custodied buyer", a.buyers["custodied"].address),
            ("external buyer", a.buyers["external"].address),
            ("third party", a.third.address),
            ("seller's cash wallet", a.seller.address),
            ("cash issuer", a.issuer.address),
            ("HTLC escrows", "*"),
        ]
        holders["cash"] = cash_side
        holders["decoy"] = cash_side
        return holders

    def _expected_supply(self) -> dict[str, int]:
        return {**super()._expected_supply(), "cash": ASA_TOTAL, "decoy": ASA_TOTAL}

    def _other_balances(
        self, name: str, holders: list[tuple[str, str]]
    ) -> dict[tuple[str, str], int]:
        """Each party's ASA balance, the sum held by every escrow built from one of our
        templates (the machine's own reader knows them from their funding notes), and the
        asset's total as its parameters state it."""
        a = self.algo
        asset = a.usd if name == "cash" else a.decoy
        _, params = a.ledger.asset_params(_asset_id(asset))
        out = {(name, "total supply"): int(params.get("t", 0))}
        parties = {address for _, address in holders if address != "*"}
        for label, address in holders:
            if address != "*":
                out[(name, label)] = a.units(asset, address)
        a.htlc.find(bytes(32))  # brings the reader's escrows up to the head
        escrows = set(a.htlc._known) - parties
        out[(name, "HTLC escrows")] = sum(a.units(asset, e) for e in escrows)
        return out

    # ------------------------------------------------------------------ counterparty
    @precondition(lambda self: self._on("counterparty_decoy_escrow") and bool(self.swaps))
    @rule(data=st.data(), kind=st.sampled_from(["regulated_template", "fee_cap"]))
    def counterparty_decoy_escrow(self, data: st.DataObject, kind: str) -> None:
        """The buyer funds an escrow that looks like the cash leg's lock: the leg's hashlock,
        receiver, amount, deadline and asset id, from the buyer's own account, but built
        from another of our templates (``regulated_template``: the regulated one naming an
        app of the buyer's and the buyer as the asset's "creator", whose claim would close
        the units back to it) or our plain-ASA template with another fee cap
        (``fee_cap``). Its address is not the leg's escrow."""
        swap = data.draw(st.sampled_from(self.swaps), label="swap")
        self.fund_decoy_escrow(swap, kind)

    def fund_decoy_escrow(self, swap: SwapRecord, kind: str) -> str:
        """Fund the decoy escrow of ``kind`` for ``swap`` (see the rule); return its address."""
        a, terms = self.algo, swap.terms
        buyer = swap.buyer
        common: dict[str, Any] = {
            "hashlock": swap.hashlock,
            "sender": buyer.address,
            "receiver": terms.participant_leg.receiver,
            "amount": terms.participant_leg.amount,
            "deadline": terms.participant_deadline,
            "asset_id": _asset_id(a.usd),
        }
        if kind == "regulated_template":
            decoy = HtlcTerms(
                kind=HtlcKind.REGULATED,
                fee_cap=a.htlc.fee_cap,
                app_id=DECOY_APP_ID,
                creator=buyer.address,
                **common,
            )
        else:
            decoy = HtlcTerms(kind=HtlcKind.ASA, fee_cap=a.htlc.fee_cap + 1_000, **common)
        sp = a.algod.suggested_params()
        sp.flat_fee = True
        sp.fee = 3_000
        group = lock_transactions(decoy, sp)[:2]  # the deposit (with the lock note), the opt-in
        group.append(
            (
                transaction.AssetTransferTxn(  # type: ignore[no-untyped-call]
                    buyer.address, sp, decoy.escrow, decoy.amount, _asset_id(a.usd)
                ),
                False,
            )
        )
        with contextlib.suppress(BridgeError):
            a.htlc.send_group(group, decoy, signer=buyer, what="decoy")
        return decoy.escrow

    # ------------------------------------------------------------------ token agent
    @precondition(
        lambda self: self._on("agent_clawback") and self._act("token_agent") and bool(self.swaps)
    )
    @rule(data=st.data(), part=st.sampled_from(["some", "all"]))
    def agent_clawback(self, data: st.DataObject, part: str) -> None:
        """The stablecoin issuer claws back part (or all) of the units in a swap's cash
        escrow (its legal power over the ASA): what is left is still the buyer's to have
        refunded at the deadline."""
        swap = data.draw(st.sampled_from(self.swaps), label="swap")
        self.claw_back(swap, part)

    def claw_back(self, swap: SwapRecord, part: str) -> int:
        """Claw ``part`` (``some``: a third, ``all``) of ``swap``'s cash escrow back to the
        issuer; return the units taken (0: nothing there)."""
        a = self.algo
        escrow = swap.lock_ids[Role.PARTICIPANT]
        held = a.units(a.usd, escrow)
        units = held if part == "all" else held // 3
        if units <= 0:
            return 0
        self._agent(f"{units} units clawed back out of the cash escrow")
        AsaAdapter(a.chain).agent_operation(
            a.usd,
            Capability.CLAWBACK,
            a.issuer,
            sender=escrow,
            recipient=a.issuer.address,
            amount=units,
        )
        self.clawed += units
        return units

    # ------------------------------------------------------------------ chains, relayer
    @precondition(
        lambda self: self._on("long_outage") and self._act("relayer") and bool(self.swaps)
    )
    @rule(rounds=st.integers(1, 300))
    def long_outage(self, rounds: int) -> None:
        """The cash chain runs ``ALGOD_LOOKBACK_ROUNDS + rounds`` rounds past the latest
        block (the relayer ticking every ``OUTAGE_TICK_ROUNDS``), then the relayer restarts on
        the same store: the escrows of its open swaps are older than the daemon's
        look-back."""
        self.outlive_the_look_back(rounds)

    def outlive_the_look_back(self, rounds: int) -> None:
        """See :meth:`long_outage`."""
        total = relayer.daemon.ALGOD_LOOKBACK_ROUNDS + rounds
        step = OUTAGE_TICK_ROUNDS
        done = 0
        while done < total:
            blocks = min(step, total - done)
            self._advance(self._seconds("cash", blocks))
            done += blocks
            if any(self.svc.store.get(s.swap_id).outcome is Outcome.OPEN for s in self.swaps):
                self._tick()
        self.crash_restart()
        self.restarts += 1
