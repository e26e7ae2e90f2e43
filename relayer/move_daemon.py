"""Lock-and-mint moves inside ``stbridge relayer run``: the ``[moves]`` settings, the pair
built from the daemon's own chains and keys, and the driver its tick loop calls.

A relayer that carries moves names one pair in its settings file::

    [moves]
    home_chain = "evm-local"          # a [[chains]] entry of kind evm: the ibet token's chain
    token = "0xSHARE..."              # the ibet share (or bond: standard = "ibet-bond")
    issuer = "0xISSUER..."            # the token's issuer (the bridge's lock address): its key
                                      # is that chain's keystore or one of its custody keys
    mirror_chain = "algorand-local"   # a [[chains]] entry of kind algorand
    asset_id = 1234                   # the regulated ASA mirror
    app_id = 1233                     # its compliance application (default: from its ARC-3
                                      # metadata, which the relayer must then be able to read)
    admin = "ALGOADMIN..."            # the compliance application's admin, held the same way
    # home_finality / mirror_finality: blocks (rounds) deep before the other side acts
    # (default: each chain's `confirmations`)

The daemon then mounts ``/moves`` (operator-only) on its API, and every tick the driver runs
the open moves this replica holds a lease on (:meth:`relayer.move.MoveExecutor.run_claimed`),
then writes mirror transfers back to the ibet register. The whole pass holds the pair's
signer lock (:meth:`relayer.store.Store.signer_lock`: a PostgreSQL advisory lock; nothing on
SQLite, one process per file), so two replicas never sign with the issuer's key at once; the
leases' epochs fence each move's journal writes besides. Moves journalled by an earlier run
(a restart, a crash, another replica's) are picked up where their journal says.

Every move is judged by the compliance engine before anything is locked (its trade is
required: ``POST /moves`` with ``trade``).

Test-only: with ``STBRIDGE_TEST_MODE=1`` (which the daemon allows only on a SQLite store and
loopback chains), ``STBRIDGE_FAULT_KILL=move:<kind>:<journaled|sent>`` makes the daemon
SIGKILL itself at that point of a move (``move:mint:sent``: the mint sent, the journal not
told), as the swap crash tests do with ``input:N`` / ``send:N``.
"""

from __future__ import annotations

import logging
import os
import re
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bridge.errors import ConfigError, Conflict, InvalidInput

if TYPE_CHECKING:
    from relayer.move import MoveExecutor
    from relayer.service import RelayerService
    from relayer.settings import RelayerSettings

__all__ = ["MoveDriver", "MovesSettings", "build_moves", "move_kill_point"]

log = logging.getLogger(__name__)

_KILL = re.compile(r"^move:(lock|mint|burn|release|refund|write_back):(journaled|sent)$")


class MovesSettings(BaseModel):
    """The ``[moves]`` section: the one ibet security and regulated-ASA mirror this relayer
    moves between two of its chains (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    home_chain: str = Field(min_length=1, description="The [[chains]] entry of the ibet token.")
    token: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$", description="The ibet token's address.")
    standard: Literal["ibet-share", "ibet-bond"] = "ibet-share"
    issuer: str = Field(
        pattern=r"^0x[0-9a-fA-F]{40}$",
        description="The token's issuer (lock address); its key is among the home chain's.",
    )
    mirror_chain: str = Field(min_length=1, description="The [[chains]] entry of the mirror.")
    asset_id: int = Field(ge=1, description="The regulated ASA mirror.")
    app_id: int | None = Field(
        default=None, ge=1, description="Its compliance application (default: from ARC-3)."
    )
    admin: str = Field(
        min_length=58,
        max_length=58,
        description="The mirror application's admin; its key is among the mirror chain's.",
    )
    home_finality: int | None = Field(default=None, ge=0)
    mirror_finality: int | None = Field(default=None, ge=0)


def move_kill_point(environ: Mapping[str, str] | None = None) -> str | None:
    """The move point ``STBRIDGE_FAULT_KILL`` names (``move:<kind>:<when>``), in test mode
    only (the daemon's ``_crash_plan`` has refused it otherwise); ``InvalidInput`` for a
    ``move:`` value of another shape."""
    env = os.environ if environ is None else environ
    value = env.get("STBRIDGE_FAULT_KILL", "")
    if not value.startswith("move:"):
        return None
    if env.get("STBRIDGE_TEST_MODE", "").strip().lower() not in ("1", "true", "yes", "on"):
        return None
    if not _KILL.match(value):
        raise InvalidInput(
            "STBRIDGE_FAULT_KILL",
            "move:<lock|mint|burn|release|refund|write_back>:<journaled|sent>",
            value=value,
        )
    return value.removeprefix("move:")


def _killer(point: str | None) -> Callable[[str], None] | None:
    if point is None:
        return None

    def crash(at: str) -> None:
        if at == point:
            log.critical("TEST MODE: SIGKILL at move point %s", at)
            logging.shutdown()
            os.kill(os.getpid(), signal.SIGKILL)

    return crash


@dataclass
class MoveDriver:
    """What the daemon's tick calls: run this replica's moves, then write back."""

    executor: MoveExecutor
    owner: str
    lease_seconds: float

    def tick(self) -> None:
        """One pass over the pair's open moves (skipped while another replica holds the
        pair's signer lock)."""
        from relayer.store import SignerBusy

        store = self.executor.journal.store
        try:
            with store.signer_lock(f"moves:{self.executor.pair.id}"):
                self.executor.run_claimed(self.owner, lease_seconds=self.lease_seconds)
        except SignerBusy:
            log.debug("moves of %s: another replica is running them", self.executor.pair.id)

    def run_one(self, move_id: str) -> dict[str, Any]:
        """An operator's manual run of one move (``POST /moves/{id}/run``), fenced as the
        tick is: the pair's signer lock and the move's lease for this replica; ``Conflict``
        naming ``move_id`` while another replica runs the pair's moves or holds the move."""
        from relayer.store import SignerBusy

        store = self.executor.journal.store
        try:
            with store.signer_lock(f"moves:{self.executor.pair.id}"):
                self.executor.run_leased(move_id, self.owner, lease_seconds=self.lease_seconds)
                self.executor.write_back()
        except SignerBusy:
            raise Conflict(
                f"move {move_id}: another replica is running the moves of "
                f"{self.executor.pair.id}; try again after its pass",
                fields=("move_id",),
            ) from None
        return self.executor.status(move_id)


def _runtime(service: RelayerService, name: str, kind: str, where: str) -> Any:
    runtime = service.chains.get(name)
    if runtime is None:
        raise ConfigError(f"moves.{where}: no [[chains]] entry named {name!r}")
    if getattr(runtime.chain, "kind", None) != kind:
        raise ConfigError(f"moves.{where}: chain {name!r} is not an {kind} chain")
    return runtime


def _signer(runtime: Any, address: str, where: str) -> Any:
    for held, signer in runtime.signers.items():
        if held.lower() == address.lower():
            return signer
    raise ConfigError(
        f"moves.{where}: the relayer holds no key for {address} on chain {runtime.name} "
        "(add its keystore to that chain's custody)"
    )


def build_moves(
    settings: RelayerSettings, service: RelayerService, *, environ: Mapping[str, str] | None = None
) -> MoveDriver | None:
    """The move driver the settings describe (None without ``[moves]``), on the service's
    store and the daemon's chains and keys; its executor judges moves with the compliance
    engine."""
    moves: MovesSettings | None = getattr(settings, "moves", None)
    if moves is None:
        return None
    from adapters.algorand.chain import AlgodChain
    from adapters.algorand.regulated import RegulatedAsaAdapter
    from adapters.evm.client import EvmClient
    from adapters.evm.ibet import IbetBondAdapter, IbetShareAdapter
    from bridge.compliance import default_engine
    from relayer.move import AsaMirror, IbetHome, MoveExecutor, MovePair

    home_rt = _runtime(service, moves.home_chain, "evm", "home_chain")
    mirror_rt = _runtime(service, moves.mirror_chain, "algorand", "mirror_chain")
    home_cs, mirror_cs = settings.chain(moves.home_chain), settings.chain(moves.mirror_chain)
    client = getattr(home_rt.htlc, "client", None)
    if not isinstance(client, EvmClient):
        client = EvmClient.from_target(home_cs.endpoint, evm_version=home_cs.evm_version)
    chain = getattr(mirror_rt.htlc, "chain", None)
    if not isinstance(chain, AlgodChain):
        from algosdk.v2client.algod import AlgodClient

        chain = AlgodChain(AlgodClient(os.environ.get(mirror_cs.token_env, ""), mirror_cs.endpoint))
    adapter = (IbetShareAdapter if moves.standard == "ibet-share" else IbetBondAdapter)(client)
    home = IbetHome(
        client,
        adapter,
        client.checked_address(moves.token, field_name="moves.token"),
        _signer(home_rt, moves.issuer, "issuer"),
        finality=home_cs.confirmations if moves.home_finality is None else moves.home_finality,
    )
    regulated = RegulatedAsaAdapter(chain)
    app_id = moves.app_id or regulated.app_id_of(moves.asset_id)
    ref = regulated.ref(moves.asset_id, app_id)
    regulated.app_id_of(ref)  # the application must be the asset's (checked against its roles)
    mirror = AsaMirror(
        chain,
        regulated,
        ref,
        _signer(mirror_rt, moves.admin, "admin"),
        finality=(
            mirror_cs.confirmations if moves.mirror_finality is None else moves.mirror_finality
        ),
    )
    engine = default_engine()
    executor = MoveExecutor(
        service.store,
        MovePair(home, mirror),
        crash=_killer(move_kill_point(environ)),
        compliance=engine.evaluate,
    )
    log.info(
        "moves: %s (issuer %s, mirror admin %s), judged by the compliance engine",
        executor.pair.id,
        home.issuer.address,
        mirror.admin.address,
    )
    return MoveDriver(executor, settings.replica_id, settings.lease_seconds)
