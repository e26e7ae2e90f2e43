"""The cross-border demo world on the embedded chains, and a relayer wired to it.

:func:`build_world` creates, with nothing to set up:

- on an in-process EVM chain (py-evm): a Japanese real-estate security token on the real
  T-REX contracts (CountryAllowModule JP+SG, MaxBalanceModule), investors alice (JP, the
  seller), bob (SG, accredited) and carol (US), our HTLC contract registered in the token's
  identity registry as a Japanese escrow so it may hold the token;
- on an embedded Algorand ledger (the real go-algorand evaluator): a USD stablecoin ASA,
  bob funded with it, alice opted in to receive it;
- a relayer service holding alice's EVM key and bob's Algorand key (custody), with the
  compliance engine on the rules in ``specs/jurisdictions``.

Both the demo (``stbridge demo``) and the end-to-end tests use it, so what the demo shows is
what the tests check.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from adapters.algorand import arc3
from adapters.algorand.algod import EmbeddedAlgodClient
from adapters.algorand.asa import AsaAdapter
from adapters.algorand.chain import AlgodChain
from adapters.algorand.deploy import deploy_stablecoin
from adapters.algorand.htlc import AlgorandHtlc
from adapters.algorand.ledger import EmbeddedLedger
from adapters.algorand.signer import AlgorandSigner
from adapters.evm.client import EvmClient
from adapters.evm.erc3643 import Erc3643Adapter
from adapters.evm.htlc import (
    EvmHtlc,
    add_escrow_claim,
    create_escrow_identity,
    register_escrow_identity,
)
from adapters.evm.signer import EvmSigner
from adapters.evm.trex_deploy import TrexDeployer, TrexSuite, deploy_demo_suite
from bridge.compliance import Trade
from bridge.htlc import ChainTiming, RelayerBudget
from bridge.model import AssetRef, EvmContractLocator, TransferIntent
from relayer.daemon import compliance_from_engine
from relayer.dry_runs import algorand_dry_run, algorand_funds_check
from relayer.evm import evm_runtime
from relayer.sealing import SealingKey
from relayer.service import (
    ChainRuntime,
    LegOrder,
    RelayerService,
    SwapOrder,
)
from relayer.store import SqliteStore

__all__ = ["World", "admit_htlc_escrow", "build_world", "cross_chain_order", "demo_order"]

EVM_TIMING = ChainTiming(
    deadline_unit="timestamp", block_time_min_ms=1000, block_time_max_ms=3000, timestamp_drift_s=5
)
ALGO_TIMING = ChainTiming(deadline_unit="round", block_time_min_ms=2800, block_time_max_ms=4500)
BUDGET = RelayerBudget(reaction_s=30, compliance_recheck_s=10, margin_s=60)
USD_CENTS = 100


@dataclass
class World:
    """Everything the demo and the end-to-end tests touch."""

    evm: EvmClient
    trex: TrexSuite
    token_ref: AssetRef
    evm_htlc: EvmHtlc
    ledger: EmbeddedLedger
    algod: EmbeddedAlgodClient
    usd_ref: AssetRef
    algo_htlc: AlgorandHtlc
    algo_issuer: AlgorandSigner
    algo_accounts: dict[str, AlgorandSigner]
    service: RelayerService
    workdir: Path

    def token_balance(self, label: str) -> int:
        """T-REX balance of an investor (by label) on the EVM chain."""
        holder = self.trex.investor(label).address
        return Erc3643Adapter(self.evm).holding(self.token_ref, holder).balance

    def usd_balance(self, label: str) -> int:
        """USD stablecoin balance (cents) of an Algorand account (by label)."""
        holder = self.algo_accounts[label].address
        return AsaAdapter(AlgodChain(self.algod)).holding(self.usd_ref, holder).balance

    def jump(self, seconds: int) -> None:
        """Move both chains' time forward (EVM timestamp; Algorand rounds and timestamp)."""
        self.evm.increase_time(seconds)
        self.evm.mine()
        self.ledger.advance(seconds * 1000 // ALGO_TIMING.block_time_min_ms + 1)
        self.ledger.jump_time(seconds)


def admit_htlc_escrow(
    evm: EvmClient, deployer: TrexDeployer, trex: TrexSuite, htlc: str, *, country: str
) -> str:
    """Let the HTLC at ``htlc`` hold the T-REX token: an ONCHAINID for it, every required
    claim signed by the suite's claim issuer, and its registration under ``country``.

    Returns the escrow identity's address. Used by the demo world and ``stbridge devnet``.
    """
    identity = create_escrow_identity(
        evm,
        id_factory=trex.id_factory,
        htlc=htlc,
        manager=deployer.owner.address,
        salt=f"htlc-{htlc}",
        signer=deployer.owner,
    )
    for topic in trex.required_topics:
        add_escrow_claim(
            evm,
            identity=identity,
            topic=topic,
            issuer=trex.claim_issuer,
            signature=deployer.sign_claim(trex, identity, topic, b""),
            data=b"",
            signer=deployer.owner,
        )
    register_escrow_identity(
        evm,
        identity_registry=trex.identity_registry,
        htlc=htlc,
        identity=identity,
        country=country,
        agent=trex.agent,
    )
    return identity


def build_world(workdir: Path | None = None, *, algorand_pipelined: bool = False) -> World:
    """Deploy everything on fresh embedded chains and wire a relayer to them.

    ``algorand_pipelined``: the relayer's Algorand port sends without waiting
    (:meth:`AlgorandHtlc.with_pipelining`) and each tick's groups are queued in the embedded
    ledger's pool and evaluated as one round (one run of the evaluator) at the tick's end;
    ``World.algo_htlc`` stays the waiting port either way."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="stbridge-demo-"))
    # --- EVM: the security token on real T-REX, and our HTLC admitted as an escrow
    evm = EvmClient.embedded()
    deployer = TrexDeployer(evm, EvmSigner.generate())
    trex = deploy_demo_suite(
        evm,
        deployer=deployer,
        mint={"alice": 1_000},
        max_balance=5_000,
        name="Tokyo Office Trust",
        symbol="TOT",
    )
    operator_evm = EvmSigner.generate()
    evm.fund(operator_evm.address, 10**19)
    evm_htlc = EvmHtlc.deploy(evm, operator_evm)
    admit_htlc_escrow(evm, deployer, trex, evm_htlc.address, country="JP")
    token_ref = AssetRef(chain=evm.chain, locator=EvmContractLocator(address=trex.token))
    # --- Algorand: the USD stablecoin, bob funded, alice able to receive
    ledger = EmbeddedLedger()
    algod = EmbeddedAlgodClient(ledger, wait_timeout=0.0)
    chain = AlgodChain(algod)
    issuer = AlgorandSigner.generate()
    accounts = {label: AlgorandSigner.generate() for label in ("alice", "bob", "carol", "operator")}
    for signer in (issuer, *accounts.values()):
        ledger.fund(signer.address, 10_000_000)
    usd = deploy_stablecoin(
        chain, issuer, currency="USD", store=arc3.ContentStore(workdir / "ipfs"), decimals=2
    )
    asa = AsaAdapter(chain)
    usd_ref = asa.ref(usd.asset_id)
    for label in ("alice", "bob", "carol"):
        asa.opt_in(usd_ref, accounts[label])
    asa.transfer(
        TransferIntent(
            asset=usd_ref,
            sender=issuer.address,
            recipient=accounts["bob"].address,
            amount=500_000 * USD_CENTS,
        ),
        issuer,
    )
    algo_htlc = AlgorandHtlc(algod, from_round=ledger.last_round)
    # --- the relayer, holding alice's EVM key and bob's Algorand key
    trex_checks = Erc3643Adapter(evm)
    service = RelayerService(
        store=SqliteStore(workdir / "relayer.sqlite3"),
        chains={
            "evm": evm_runtime(
                name="evm",
                client=evm,
                htlc=evm_htlc,
                timing=EVM_TIMING,
                confirmations=0,
                signers=[trex.investor("alice").signer],
                operator=operator_evm,
                # reads only: the escrow holds no ether to pay for a simulated call; one
                # adapter for every check (its module names and code checks are kept, as
                # relayer.dry_runs.evm_dry_run keeps one per token)
                dry_run=lambda intent: trex_checks.check_transfer(intent, simulate=False),
            ),
            "algorand": ChainRuntime(
                name="algorand",
                chain=chain.chain,
                htlc=algo_htlc.with_pipelining() if algorand_pipelined else algo_htlc,
                now=lambda: ledger.last_round,
                head=lambda: ledger.last_round,
                timing=ALGO_TIMING,
                confirmations=0,
                signers={accounts["bob"].address: accounts["bob"]},
                operator=accounts["operator"],
                dry_run=algorand_dry_run(chain),
                funds=algorand_funds_check(algo_htlc),  # as the daemon wires it
                escrow_per_lock=True,
            ),
        },
        compliance=compliance_from_engine(),
        sealing_key=SealingKey.generate(),
        budget=BUDGET,
        # embedded chains' clocks jump in tests and demos: deadlines are planned on each
        # chain's own clock (EVM timestamps, Algorand rounds), so the host's clock serves
        wall_clock=time.time,
    )
    return World(
        evm=evm,
        trex=trex,
        token_ref=token_ref,
        evm_htlc=evm_htlc,
        ledger=ledger,
        algod=algod,
        usd_ref=usd_ref,
        algo_htlc=algo_htlc,
        algo_issuer=issuer,
        algo_accounts=accounts,
        service=service,
        workdir=workdir,
    )


def demo_order(
    world: World,
    order_id: str,
    *,
    buyer: str = "bob",
    units: int = 250,
    usd_cents: int = 250_000 * USD_CENTS,
    trade_file: Path | None = None,
) -> SwapOrder:
    """alice sells ``units`` of the token to ``buyer`` for ``usd_cents`` of USD on Algorand.

    The trade for the compliance engine is ``specs/examples/jp-real-estate-to-sg-accredited-
    usdc.json`` with the parties' wallets and the buyer's residence filled in.
    """
    buyer_investor = world.trex.investor(buyer)
    return cross_chain_order(
        order_id,
        security=LegOrder(
            chain="evm",
            asset=world.token_ref,
            amount=units,
            sender=world.trex.investor("alice").address,
            receiver=buyer_investor.address,
        ),
        cash=LegOrder(
            chain="algorand",
            asset=world.usd_ref,
            amount=usd_cents,
            sender=world.algo_accounts[buyer].address,
            receiver=world.algo_accounts["alice"].address,
        ),
        buyer_residence=buyer_investor.country,
        trade_file=trade_file,
    )


def cross_chain_order(
    order_id: str,
    *,
    security: LegOrder,
    cash: LegOrder,
    buyer_residence: str,
    settlement_window_s: int = 3600,
    trade_file: Path | None = None,
) -> SwapOrder:
    """An order for ``security`` against ``cash`` with the trade compliance needs.

    The trade is ``trade_file`` (default ``specs/examples/jp-real-estate-to-sg-accredited-
    usdc.json``) with the order id, the quantity, both parties' security wallets and the
    buyer's residence filled in from the legs.
    """
    from bridge.compliance.loader import specs_dir

    path = trade_file or specs_dir() / "examples" / "jp-real-estate-to-sg-accredited-usdc.json"
    trade = Trade.model_validate_json(path.read_text(encoding="utf-8"))
    trade = trade.model_copy(
        update={
            "id": order_id,
            "quantity": security.amount,
            "seller": trade.seller.model_copy(update={"wallet": security.sender}),
            "buyer": trade.buyer.model_copy(
                update={"wallet": security.receiver, "residence": buyer_residence}
            ),
        }
    )
    return SwapOrder(
        order_id=order_id,
        security=security,
        cash=cash,
        settlement_window_s=settlement_window_s,
        trade=trade,
    )
