"""The two real chains the interop suite runs on, built once per process and reset per example.

- the **security chain** (py-evm in process by default, or anvil): the real T-REX suite
  (ERC-3643) with investors alice (JP, the seller) and bob (SG, the buyer's security
  wallet), our HTLC registered in the token's identity registry as an escrow, as
  :func:`relayer.embedded.build_world` wires it;
- beside it on the security chain, an **ERC-1400 security**: stbridge's ``SecurityToken1400``
  with a default partition (class A, alice's units, what a plain lock of the token takes)
  and a second one (class B, held by the third party, who has made our HTLC its operator
  for it: it can lock class-B units with ``lockPartition``); alice, bob, the HTLC, the third
  party and the token's controller (its agent) are whitelisted
  (:mod:`relayer.interop.erc1400` drives it);
- the **cash chain** (anvil): stbridge's ``CashToken`` (an ERC-20 stablecoin with issuer
  powers), a worthless look-alike ``Decoy`` token, and our HTLC.

Parties: the seller's relayer-held keys (alice on the security chain), the buyer's cash
wallet held by the relayer (``custodied``), an ``external`` buyer whose key the relayer does
not hold (a counterparty on its own platform, which locks by itself or never), a ``third``
party funded on both chains, and the issuers/agents of both tokens.

:meth:`InteropWorld.reset` reverts both chains to the state just after the build (a
snapshot), so every hypothesis example starts from the same chains.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from adapters.evm.client import EvmClient
from adapters.evm.contracts import artifact_for_chain
from adapters.evm.erc20 import Erc20Adapter, deploy_cash_token
from adapters.evm.htlc import (
    EvmHtlc,
    add_escrow_claim,
    create_escrow_identity,
    register_escrow_identity,
)
from adapters.evm.signer import EvmSigner
from adapters.evm.trex_deploy import TrexDeployer, TrexSuite, deploy_demo_suite
from bridge.errors import ChainUnavailable
from bridge.model import AssetRef, Capability, EvmContractLocator
from relayer.interop.anvil import start_anvil, stop_process

__all__ = ["Backend", "InteropWorld", "build_world"]

log = logging.getLogger(__name__)

Backend = Literal["pyevm", "anvil"]

ETHER = 10**18
SELLER_UNITS = 100_000
"""Units of the security alice holds at the start of every example."""
EXAMPLE_EPOCH = 4_000_000_000
"""Unix time (in 2096) at which both chains start every example: a constant, not the host's
clock, so that a seed replays an example with the very same block times, deadlines and lock
ids in any process (the Algorand ledger's clock follows the security chain's). It lies
ahead of any host clock: an in-process chain cannot stamp a block before the host's time,
and examples move time forward only."""
CASH_FUNDS = 10**15
"""Base units of the cash token each buyer and the third party hold at the start."""
CLASS_A = b"interop-class-A".ljust(32, b"\x00")
"""The ERC-1400 security's default partition (alice's units; a plain lock takes these)."""
CLASS_B = b"interop-class-B".ljust(32, b"\x00")
"""The ERC-1400 security's other partition (the third party's units)."""
CLASS_B_UNITS = 1_000
"""Class-B units of the ERC-1400 security the third party holds at the start."""
SELLER_CLASS_B_UNITS = 10_000
"""Class-B units of the ERC-1400 security alice holds at the start (an order may sell
either class; the seller's own lock of the other class is an actor's)."""


@dataclass
class InteropWorld:
    """Both chains, their HTLCs and tokens, and every party's keys."""

    sec: EvmClient
    cash: EvmClient
    sec_backend: Backend
    trex: TrexSuite
    sec_htlc: EvmHtlc
    cash_htlc: EvmHtlc
    security: AssetRef
    cash_token: AssetRef
    decoy_token: AssetRef
    cash_issuer: EvmSigner
    seller: EvmSigner
    seller_on_cash: EvmSigner
    buyers: dict[str, EvmSigner]
    buyer_on_sec: str
    third: EvmSigner
    operator_sec: EvmSigner
    operator_cash: EvmSigner
    st1400: AssetRef
    """The ERC-1400 security (``SecurityToken1400``) on the security chain."""
    st1400_agent: EvmSigner
    """Its owner and controller (the token agent: forced transfers by partition)."""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _base: dict[str, Any] = field(default_factory=dict)
    _shipped_cash_htlc: EvmHtlc = field(init=False)

    def __post_init__(self) -> None:
        self._shipped_cash_htlc = self.cash_htlc

    def client(self, chain: str) -> EvmClient:
        """The client of ``chain`` (``"sec"`` or ``"cash"``)."""
        return self.sec if chain == "sec" else self.cash

    def htlc(self, chain: str) -> EvmHtlc:
        """The HTLC of ``chain``."""
        return self.sec_htlc if chain == "sec" else self.cash_htlc

    def mark_base(self) -> None:
        """Remember the current state of both chains as the start of every example."""
        self._base = {"sec": self.sec.snapshot(), "cash": self.cash.snapshot()}

    def reset(self) -> None:
        """Revert both chains to the base state (and take the base snapshot again: a node
        consumes a snapshot when it reverts to it)."""
        if int(time.time()) >= EXAMPLE_EPOCH:
            raise RuntimeError("the host clock is past EXAMPLE_EPOCH: move the epoch on")
        for name in ("sec", "cash"):
            client = self.client(name)
            client.revert(self._base[name])
            if client.backend != "pyevm":
                client._rpc("anvil_removeBlockTimestampInterval", [])
            self._base[name] = client.snapshot()
            # one block at the example's epoch (the same in every process and example)
            if client.backend == "pyevm":
                client._tester.time_travel(EXAMPLE_EPOCH)
                client._tester.mine_blocks(1)
            else:
                client._rpc("evm_mine", [EXAMPLE_EPOCH])
        self.cash_htlc = self._shipped_cash_htlc
        build = cash_htlc_build()
        if build is not None:  # a mutant of the contract (relayer.interop.mutations)
            receipt = self.cash.transact(self.operator_cash, None, bytes.fromhex(build[2:]))
            address = self.cash.receipt(receipt.tx_id)["contractAddress"]
            self.cash_htlc = EvmHtlc(self.cash, str(address), from_block=receipt.height)
        for htlc in (self.sec_htlc, self.cash_htlc):
            htlc._locks.clear()  # the adapter's cache of lock parameters read from events

    def settle(self, timeout_s: float = 30.0, *, chains: tuple[str, ...] = ("sec", "cash")) -> None:
        """Wait until each anvil chain has mined every transaction sent to it.

        anvil answers ``eth_sendRawTransaction`` before it mines the transaction (its miner
        runs apart: about one send in four is not in a block at the next read), and the
        pipelined relayer does not wait for receipts. Without this, a block a step mines
        with a chosen timestamp would race the miner: the pending transaction's block gets
        the node's own clock (``evm_mine`` then refuses the chosen one as lower), and which
        block a transaction lands in would vary from run to run. A transaction queued
        behind a nonce gap (a dropped submission) is not pending and is not waited for.
        ``ChainUnavailable`` if a node keeps pending transactions for ``timeout_s``.
        """
        for name in chains:
            client = self.client(name)
            if client.backend == "pyevm":
                continue  # py-evm mines inside the send
            deadline = time.monotonic() + timeout_s
            while int(client._rpc("txpool_status", [])["pending"], 16):
                if time.monotonic() > deadline:
                    raise ChainUnavailable(
                        f"{name}: anvil kept pending transactions for {timeout_s:.0f} s"
                    )
                time.sleep(0.002)

    def close(self) -> None:
        """Stop the nodes this world started (by pid)."""
        for proc in self.processes:
            with contextlib.suppress(Exception):
                stop_process(proc)
        self.processes.clear()


def cash_htlc_build() -> str | None:
    """The creation bytecode of the HTLC the cash chain runs in the next examples (deployed
    at each :meth:`InteropWorld.reset`), or None for the shipped build deployed with the
    world. Always None here; a contract mutation (``relayer.interop.mutations``) replaces
    this function for the duration of its ``with`` block."""
    return None


def _client(backend: Backend, processes: list[subprocess.Popen[bytes]], chain_id: int) -> EvmClient:
    if backend == "pyevm":
        return EvmClient.embedded()
    proc, url = start_anvil("--chain-id", str(chain_id))
    processes.append(proc)
    return EvmClient.connect(url)


def build_world(*, sec_backend: Backend = "pyevm") -> InteropWorld:
    """Deploy everything on fresh chains (a few seconds) and mark the base snapshot."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        sec = _client(sec_backend, processes, 31_338)
        cash = _client("anvil", processes, 31_337)
        deployer = TrexDeployer(sec, EvmSigner.from_seed("interop:trex-owner"))
        trex = deploy_demo_suite(
            sec,
            deployer=deployer,
            mint={"alice": SELLER_UNITS},
            max_balance=10 * SELLER_UNITS,
            name="Interop Office Trust",
            symbol="IOT",
        )
        signers = {
            name: EvmSigner.from_seed(f"interop:{name}")
            for name in ("op-sec", "op-cash", "seller-cash", "custodied", "external", "third")
        }
        for name in ("op-sec", "third"):
            sec.fund(signers[name].address, 10 * ETHER)
        for name in ("op-cash", "seller-cash", "custodied", "external", "third"):
            cash.fund(signers[name].address, 10 * ETHER)
        sec_htlc = EvmHtlc.deploy(sec, signers["op-sec"])
        _admit_escrow(sec, deployer, trex, sec_htlc)
        cash_htlc = EvmHtlc.deploy(cash, signers["op-cash"])
        issuer = EvmSigner.from_seed("interop:cash-issuer")
        cash.fund(issuer.address, 10 * ETHER)
        coin = deploy_cash_token(
            cash, issuer, name="Interop USD", symbol="IUSD", decimals=6, currency="USD"
        )
        decoy = deploy_cash_token(
            cash, signers["third"], name="Decoy USD", symbol="DUSD", decimals=6, currency="USD"
        )
        coin_ref = AssetRef(chain=cash.chain, locator=EvmContractLocator(address=coin))
        decoy_ref = AssetRef(chain=cash.chain, locator=EvmContractLocator(address=decoy))
        erc20 = Erc20Adapter(cash)
        for name in ("custodied", "external", "third"):
            erc20.agent_operation(
                coin_ref, Capability.MINT, issuer, to=signers[name].address, amount=CASH_FUNDS
            )
            erc20.agent_operation(
                decoy_ref,
                Capability.MINT,
                signers["third"],
                to=signers[name].address,
                amount=CASH_FUNDS,
            )
        st1400 = _deploy_st1400(
            sec, sec_htlc, trex.investor("alice").signer, trex.investor("bob").address, signers
        )
        world = InteropWorld(
            sec=sec,
            cash=cash,
            sec_backend=sec_backend,
            trex=trex,
            sec_htlc=sec_htlc,
            cash_htlc=cash_htlc,
            security=AssetRef(chain=sec.chain, locator=EvmContractLocator(address=trex.token)),
            cash_token=coin_ref,
            decoy_token=decoy_ref,
            cash_issuer=issuer,
            seller=trex.investor("alice").signer,
            seller_on_cash=signers["seller-cash"],
            buyers={"custodied": signers["custodied"], "external": signers["external"]},
            buyer_on_sec=trex.investor("bob").address,
            third=signers["third"],
            operator_sec=signers["op-sec"],
            operator_cash=signers["op-cash"],
            st1400=AssetRef(chain=sec.chain, locator=EvmContractLocator(address=st1400[0])),
            st1400_agent=st1400[1],
            processes=processes,
        )
    except BaseException:
        for proc in processes:
            stop_process(proc)
        raise
    world.mark_base()
    return world


def _deploy_st1400(
    sec: EvmClient, htlc: EvmHtlc, alice: EvmSigner, bob: str, signers: dict[str, EvmSigner]
) -> tuple[str, EvmSigner]:
    """Deploy the ERC-1400 security (see the module docstring): its address and agent."""
    agent = EvmSigner.from_seed("interop:st1400-agent")
    sec.fund(agent.address, 10 * ETHER)
    art = artifact_for_chain("SecurityToken1400", sec)
    token = sec.deploy(
        agent, art.abi, art.bytecode, "Interop Partitioned Fund", "IPF", 0, CLASS_A, agent.address
    )
    fns = token.functions
    third = signers["third"]
    calls: list[tuple[EvmSigner, Any]] = [
        *(
            (agent, fns.setWhitelisted(who, True))
            for who in (alice.address, bob, htlc.address, third.address, agent.address)
        ),
        (agent, fns.setControllers([agent.address])),
        (agent, fns.issueByPartition(CLASS_A, alice.address, SELLER_UNITS, b"")),
        (agent, fns.issueByPartition(CLASS_B, third.address, CLASS_B_UNITS, b"")),
        (agent, fns.issueByPartition(CLASS_B, alice.address, SELLER_CLASS_B_UNITS, b"")),
        (third, fns.authorizeOperatorByPartition(CLASS_B, htlc.address)),
    ]
    for signer, call in calls:
        data = bytes.fromhex(str(call._encode_transaction_data()).removeprefix("0x"))
        sec.transact(signer, str(token.address), data)
    return str(token.address), agent


def _admit_escrow(sec: EvmClient, deployer: TrexDeployer, trex: TrexSuite, htlc: EvmHtlc) -> None:
    """Register the HTLC in the token's identity registry (JP, with the required claims) so it
    may hold the token, as the embedded demo world does."""
    identity = create_escrow_identity(
        sec,
        id_factory=trex.id_factory,
        htlc=htlc.address,
        manager=deployer.owner.address,
        salt=f"htlc-{htlc.address}",
        signer=deployer.owner,
    )
    for topic in trex.required_topics:
        add_escrow_claim(
            sec,
            identity=identity,
            topic=topic,
            issuer=trex.claim_issuer,
            signature=deployer.sign_claim(trex, identity, topic, b""),
            data=b"",
            signer=deployer.owner,
        )
    register_escrow_identity(
        sec,
        identity_registry=trex.identity_registry,
        htlc=htlc.address,
        identity=identity,
        country="JP",
        agent=trex.agent,
    )
