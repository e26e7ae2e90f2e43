"""Deploy a translator plan (:mod:`bridge.translate.plan`) and read the result back.

Each plan kind is executed with the deployment code its adapter already has (the T-REX
factory path of :mod:`adapters.evm.trex_deploy`, ``deploy_security_token``,
``deploy_restricted_token``, the ibet deployers, ``deploy_regulated_asa``) and then
configured through the adapter's own agent operations, so a plan runs on the embedded
chains, on anvil and on real endpoints alike. The deployed mirror is empty: units arrive
by moves.

:func:`deploy_plan` returns a :class:`Deployment` whose :meth:`Deployment.read` is the
target adapter's canonical reading, the one the translator's expected reading and loss
report are checked against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.errors import InvalidInput
from bridge.model import Asset, AssetRef, Capability
from bridge.translate.plan import (
    Erc1400Plan,
    Erc1404Plan,
    Erc3643Plan,
    IbetBondPlan,
    IbetSharePlan,
    Plan,
    RegulatedAsaPlan,
)

__all__ = ["Deployment", "deploy_algorand_plan", "deploy_evm_plan", "deploy_plan"]


@dataclass
class Deployment:
    """A deployed plan: the target's reference, its adapter, and what else was created."""

    ref: AssetRef
    adapter: Any
    contracts: dict[str, str] = field(default_factory=dict)

    def read(self) -> Asset:
        """The target adapter's canonical reading of the deployed token."""
        result: Asset = self.adapter.read_asset(self.ref)
        return result

    @property
    def locator(self) -> str:
        """The token's address (EVM) or ``asa:<id>/app:<id>`` (Algorand)."""
        loc = self.ref.locator
        if loc.kind == "evm_contract":
            return loc.address
        return f"asa:{loc.asset_id}/app:{loc.app_id}"


def deploy_evm_plan(
    client: Any, owner: Any, plan: Plan, *, trex_deployer: Any | None = None
) -> Deployment:
    """Deploy an EVM plan on ``client`` (an ``EvmClient``), ``owner`` (an ``EvmSigner``)
    owning and administering everything. ``trex_deployer`` reuses a ``TrexDeployer``'s
    factories across T-REX plans (one per chain is enough)."""
    if isinstance(plan, Erc3643Plan):
        return _deploy_erc3643(client, owner, plan, trex_deployer)
    if isinstance(plan, Erc1400Plan):
        return _deploy_erc1400(client, owner, plan)
    if isinstance(plan, Erc1404Plan):
        return _deploy_erc1404(client, owner, plan)
    if isinstance(plan, IbetSharePlan | IbetBondPlan):
        return _deploy_ibet(client, owner, plan)
    raise InvalidInput("plan", f"a {plan.kind} plan is not deployed on an EVM chain")


def _deploy_erc3643(client: Any, owner: Any, plan: Erc3643Plan, deployer: Any | None) -> Deployment:
    from adapters.evm.erc3643 import Erc3643Adapter
    from adapters.evm.trex_deploy import ModuleConfig, TrexDeployer

    deployer = deployer or TrexDeployer(client, owner)
    modules = [
        ModuleConfig(m.name, tuple((c.function, c.args) for c in m.calls)) for m in plan.modules
    ]
    suite = deployer.deploy_suite(
        name=plan.name,
        symbol=plan.symbol,
        decimals=plan.decimals,
        modules=modules,
        required_topics=plan.claim_topics,
    )
    adapter = Erc3643Adapter(client)
    ref = adapter.ref(suite.token)
    if plan.paused:
        adapter.agent_operation(ref, Capability.PAUSE, suite.agent, paused=True)
    contracts = {
        "identity_registry": suite.identity_registry,
        "compliance": suite.compliance,
        "claim_issuer": suite.claim_issuer,
        "agent": suite.agent.address,
        **{f"module:{k}": v for k, v in suite.modules.items()},
    }
    return Deployment(ref, adapter, contracts)


def _configure_validator_token(adapter: Any, ref: AssetRef, owner: Any, plan: Any) -> None:
    for account in plan.whitelist:
        adapter.agent_operation(ref, Capability.WHITELIST, owner, account=account, whitelisted=True)
    for lock in plan.lockups:
        adapter.agent_operation(ref, Capability.LOCKS, owner, account=lock.holder, until=lock.until)


def _deploy_erc1400(client: Any, owner: Any, plan: Erc1400Plan) -> Deployment:
    from adapters.evm.erc1400 import Erc1400Adapter, deploy_security_token

    address = deploy_security_token(
        client,
        owner,
        name=plan.name,
        symbol=plan.symbol,
        decimals=plan.decimals,
        default_partition=plan.default_partition,
    )
    adapter = Erc1400Adapter(client)
    ref = adapter.ref(address)
    _configure_validator_token(adapter, ref, owner, plan)
    for doc in plan.documents:
        adapter.agent_operation(
            ref,
            Capability.DOCUMENTS,
            owner,
            name=doc.name,
            uri=doc.uri,
            hash=None if doc.hash is None else "0x" + doc.hash,
        )
    if plan.paused:
        adapter.agent_operation(ref, Capability.PAUSE, owner, paused=True)
    return Deployment(ref, adapter)


def _deploy_erc1404(client: Any, owner: Any, plan: Erc1404Plan) -> Deployment:
    from adapters.evm.erc1404 import Erc1404Adapter, deploy_restricted_token

    address = deploy_restricted_token(
        client,
        owner,
        name=plan.name,
        symbol=plan.symbol,
        decimals=plan.decimals,
        max_holders=plan.max_holders,
    )
    adapter = Erc1404Adapter(client)
    ref = adapter.ref(address)
    _configure_validator_token(adapter, ref, owner, plan)
    if plan.paused:
        adapter.agent_operation(ref, Capability.PAUSE, owner, paused=True)
    return Deployment(ref, adapter)


def _deploy_ibet(client: Any, issuer: Any, plan: IbetSharePlan | IbetBondPlan) -> Deployment:
    from adapters.evm.ibet import (
        IbetBondAdapter,
        IbetShareAdapter,
        deploy_ibet_bond,
        deploy_ibet_share,
        deploy_personal_info,
    )

    register = deploy_personal_info(client, issuer)
    adapter: Any
    if isinstance(plan, IbetSharePlan):
        address = deploy_ibet_share(
            client,
            issuer,
            name=plan.name,
            symbol=plan.symbol,
            total_supply=0,
            personal_info=register,
            issue_price=plan.issue_price,
            principal_value=plan.principal_value,
            dividends=plan.dividends,
            dividend_record_date=plan.dividend_record_date,
            dividend_payment_date=plan.dividend_payment_date,
            cancellation_date=plan.cancellation_date,
            transferable=not plan.paused,
        )
        adapter = IbetShareAdapter(client)
    else:
        address = deploy_ibet_bond(
            client,
            issuer,
            name=plan.name,
            symbol=plan.symbol,
            total_supply=0,
            personal_info=register,
            face_value=plan.face_value,
            face_value_currency=plan.face_value_currency,
            redemption_date=plan.redemption_date,
            redemption_value=plan.redemption_value,
            redemption_value_currency=plan.redemption_value_currency,
            interest_rate=plan.interest_rate,
            interest_payment_dates=plan.interest_payment_dates,
            interest_payment_currency=plan.interest_payment_currency,
            transferable=not plan.paused,
        )
        adapter = IbetBondAdapter(client)
    ref = adapter.ref(address)
    if plan.approval_required:
        adapter.agent_operation(
            ref, Capability.APPROVAL_FLOW, issuer, action="require", required=True
        )
    if not plan.require_personal_info:
        data = adapter.token(address).encode_abi("setRequirePersonalInfoRegistered", args=[False])
        adapter.send_call(issuer, address, data, "setRequirePersonalInfoRegistered")
    for wallet in plan.registered:
        adapter.agent_operation(ref, Capability.IDENTITY_REGISTRATION, issuer, wallet=wallet)
    return Deployment(ref, adapter, {"personal_info": register})


def deploy_algorand_plan(chain: Any, issuer: Any, plan: Plan, *, metadata_dir: Path) -> Deployment:
    """Deploy a regulated-ASA plan on ``chain`` (an ``AlgodChain``) with ``issuer`` (an
    ``AlgorandSigner``, funded) as admin, manager and reserve; the ARC-3 metadata is stored
    content-addressed in ``metadata_dir``."""
    if not isinstance(plan, RegulatedAsaPlan):
        raise InvalidInput("plan", f"a {plan.kind} plan is not deployed on Algorand")
    from adapters.algorand import arc3
    from adapters.algorand.deploy import deploy_regulated_asa
    from adapters.algorand.regulated import RegulatedAsaAdapter

    store = arc3.ContentStore(metadata_dir)
    deployed = deploy_regulated_asa(
        chain,
        issuer,
        name=plan.name,
        unit_name=plan.symbol,
        total=plan.capacity,
        decimals=plan.decimals,
        store=store,
        terms=plan.terms,
        identifiers=plan.identifiers,
        home_jurisdiction=plan.home_jurisdiction,
        max_holders=plan.max_holders,
        max_balance=plan.max_balance,
        countries=plan.countries,
    )
    adapter = RegulatedAsaAdapter(chain, metadata=store)
    assert deployed.app_id is not None
    ref = adapter.ref(deployed.asset_id, deployed.app_id)
    if plan.paused:
        adapter.agent_operation(ref, Capability.PAUSE, issuer, paused=True)
    return Deployment(ref, adapter, {"metadata": deployed.metadata_url})


def deploy_plan(
    plan: Plan,
    *,
    evm: tuple[Any, Any] | None = None,
    algorand: tuple[Any, Any] | None = None,
    metadata_dir: Path | None = None,
    trex_deployer: Any | None = None,
) -> Deployment:
    """Deploy ``plan`` on the chain of its family: ``evm=(client, owner)`` or
    ``algorand=(chain, issuer)`` (with ``metadata_dir`` for the ARC-3 metadata)."""
    if isinstance(plan, RegulatedAsaPlan):
        if algorand is None or metadata_dir is None:
            raise InvalidInput("chain", "a regulated-ASA plan needs an Algorand chain")
        return deploy_algorand_plan(*algorand, plan, metadata_dir=metadata_dir)
    if evm is None:
        raise InvalidInput("chain", f"a {plan.kind} plan needs an EVM chain")
    return deploy_evm_plan(*evm, plan, trex_deployer=trex_deployer)
