"""Deploy a translator plan (:mod:`bridge.translate.plan`) and read the result back.

Each plan kind is executed with the deployment code its adapter already has (the T-REX
factory path of :mod:`adapters.evm.trex_deploy`, ``deploy_regulated_asa``, and for the other
EVM standards one table, ``_EVM_TARGETS``: each standard's deployer, the plan's constructor
arguments and the configuration steps shared between standards) and then configured
through the adapter's own agent operations, so a plan runs on the embedded
chains, on anvil and on real endpoints alike. The deployed mirror is empty: units arrive
by moves.

:func:`deploy_plan` returns a :class:`Deployment` whose :meth:`Deployment.read` is the
target adapter's canonical reading, the one the translator's expected reading and loss
report are checked against.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.errors import InvalidInput
from bridge.model import Asset, AssetRef, Capability
from bridge.translate.plan import Erc3643Plan, Plan, RegulatedAsaPlan

__all__ = ["Deployment", "deploy_algorand_plan", "deploy_evm_plan", "deploy_plan"]


@dataclass
class Deployment:
    """A deployed plan: the target's reference, its adapter, and what else was created."""

    ref: AssetRef
    adapter: Any
    contracts: dict[str, str] = field(default_factory=dict)
    suite: Any = None
    """The ``TrexSuite`` of an ERC-3643 deployment (its agent, registries, investors)."""

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
    target = _EVM_TARGETS.get(plan.kind)
    if target is None:
        raise InvalidInput("plan", f"a {plan.kind} plan is not deployed on an EVM chain")
    issuer = getattr(plan, "issuer", None)
    if issuer is not None and issuer.lower() != owner.address.lower():
        raise InvalidInput(
            "plan.issuer",
            f"the plan names {issuer} as the token's issuer (its reading admits that account), "
            f"so that account must deploy it; the signer is {owner.address}",
        )
    return target.deploy(client, owner, plan)


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
    _pause(adapter, ref, suite.agent, plan)
    contracts = {
        "identity_registry": suite.identity_registry,
        "compliance": suite.compliance,
        "claim_issuer": suite.claim_issuer,
        "agent": suite.agent.address,
        **{f"module:{k}": v for k, v in suite.modules.items()},
    }
    return Deployment(ref, adapter, contracts, suite)


# -- the steps a plan's configuration takes after its token is deployed ------------------
Step = Callable[[Any, AssetRef, Any, Any], None]
"""``(adapter, ref, signer, plan)``: one configuration step of a deployed token."""


def _pause(adapter: Any, ref: AssetRef, signer: Any, plan: Any) -> None:
    if plan.paused:
        adapter.agent_operation(ref, Capability.PAUSE, signer, paused=True)


def _whitelist(adapter: Any, ref: AssetRef, signer: Any, plan: Any) -> None:
    for account in plan.whitelist:
        adapter.agent_operation(
            ref, Capability.WHITELIST, signer, account=account, whitelisted=True
        )


def _lockups(adapter: Any, ref: AssetRef, signer: Any, plan: Any) -> None:
    for lock in plan.lockups:
        adapter.agent_operation(
            ref, Capability.LOCKS, signer, account=lock.holder, until=lock.until
        )


def _documents(adapter: Any, ref: AssetRef, signer: Any, plan: Any) -> None:
    for doc in plan.documents:
        digest = None if doc.hash is None else "0x" + doc.hash
        adapter.agent_operation(
            ref, Capability.DOCUMENTS, signer, name=doc.name, uri=doc.uri, hash=digest
        )


def _approval(adapter: Any, ref: AssetRef, signer: Any, plan: Any) -> None:
    if plan.approval_required:
        adapter.agent_operation(
            ref, Capability.APPROVAL_FLOW, signer, action="require", required=True
        )


def _personal_info(adapter: Any, ref: AssetRef, signer: Any, plan: Any) -> None:
    if not plan.require_personal_info:
        address = ref.locator.address  # type: ignore[union-attr]
        data = adapter.token(address).encode_abi("setRequirePersonalInfoRegistered", args=[False])
        adapter.send_call(signer, address, data, "setRequirePersonalInfoRegistered")
    for wallet in plan.registered:
        adapter.agent_operation(ref, Capability.IDENTITY_REGISTRATION, signer, wallet=wallet)


def _token_args(plan: Any) -> dict[str, Any]:
    return {"name": plan.name, "symbol": plan.symbol}


def _ibet_share_args(plan: Any) -> dict[str, Any]:
    return {
        **_token_args(plan),
        "total_supply": 0,
        "issue_price": plan.issue_price,
        "principal_value": plan.principal_value,
        "dividends": plan.dividends,
        "dividend_record_date": plan.dividend_record_date,
        "dividend_payment_date": plan.dividend_payment_date,
        "cancellation_date": plan.cancellation_date,
        "transferable": not plan.paused,
    }


def _ibet_bond_args(plan: Any) -> dict[str, Any]:
    return {
        **_token_args(plan),
        "total_supply": 0,
        "face_value": plan.face_value,
        "face_value_currency": plan.face_value_currency,
        "redemption_date": plan.redemption_date,
        "redemption_value": plan.redemption_value,
        "redemption_value_currency": plan.redemption_value_currency,
        "interest_rate": plan.interest_rate,
        "interest_payment_dates": plan.interest_payment_dates,
        "interest_payment_currency": plan.interest_payment_currency,
        "transferable": not plan.paused,
    }


def _ibet_register(client: Any, owner: Any) -> dict[str, str]:
    """ibet tokens point at a PersonalInfo register: a fresh one per token."""
    from adapters.evm.ibet import deploy_personal_info

    return {"personal_info": deploy_personal_info(client, owner)}


@dataclass(frozen=True)
class _EvmTarget:
    """How one EVM standard's plan is deployed with its adapter's own deployer: the module,
    adapter class and deploy function, the plan's constructor arguments, contracts created
    first (passed to the deployer by name), and the configuration steps after."""

    module: str
    adapter: str
    deployer: str
    arguments: Callable[[Any], dict[str, Any]]
    steps: tuple[Step, ...]
    before: Callable[[Any, Any], dict[str, str]] | None = None

    def deploy(self, client: Any, owner: Any, plan: Plan) -> Deployment:
        module = importlib.import_module(self.module)
        contracts = self.before(client, owner) if self.before is not None else {}
        address = getattr(module, self.deployer)(client, owner, **self.arguments(plan), **contracts)
        adapter = getattr(module, self.adapter)(client)
        ref = adapter.ref(address)
        for step in self.steps:
            step(adapter, ref, owner, plan)
        return Deployment(ref, adapter, dict(contracts))


_EVM_TARGETS: dict[str, _EvmTarget] = {
    "erc1400": _EvmTarget(
        "adapters.evm.erc1400",
        "Erc1400Adapter",
        "deploy_security_token",
        lambda p: {
            **_token_args(p),
            "decimals": p.decimals,
            "default_partition": p.default_partition,
        },
        (_whitelist, _lockups, _documents, _pause),
    ),
    "erc1404": _EvmTarget(
        "adapters.evm.erc1404",
        "Erc1404Adapter",
        "deploy_restricted_token",
        lambda p: {**_token_args(p), "decimals": p.decimals, "max_holders": p.max_holders},
        (_whitelist, _lockups, _pause),
    ),
    "ibet_share": _EvmTarget(
        "adapters.evm.ibet",
        "IbetShareAdapter",
        "deploy_ibet_share",
        _ibet_share_args,
        (_approval, _personal_info),
        before=_ibet_register,
    ),
    "ibet_bond": _EvmTarget(
        "adapters.evm.ibet",
        "IbetBondAdapter",
        "deploy_ibet_bond",
        _ibet_bond_args,
        (_approval, _personal_info),
        before=_ibet_register,
    ),
}


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
    _pause(adapter, ref, issuer, plan)
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
