"""Deploy a complete T-REX (ERC-3643) suite by the factory path, for tests and the demo.

Bytecode comes from the npm artifacts in ``node_modules`` (``@tokenysolutions/t-rex``,
``@onchain-id/solidity``); nothing here is needed at runtime to *read* a token.

The sequence (``TrexDeployer``):

1. the six T-REX implementations (Token, ClaimTopicsRegistry, IdentityRegistry,
   IdentityRegistryStorage, TrustedIssuersRegistry, ModularCompliance), uninitialised;
   ``TREXImplementationAuthority(true, 0, 0).addAndUseTREXVersion((4,0,0), impls)``;
2. ONCHAINID: ``Identity(owner, true)`` as library, ``ImplementationAuthority``,
   ``IdFactory``; ``TREXFactory(ia, idFactory)``; ``idFactory.addTokenFactory(factory)``;
3. a ``ClaimIssuer`` whose claim key (purpose 3) belongs to a separate claim signer;
4. each compliance module deployed and ``initialize()``d, then
   ``factory.deployTREXSuite(salt, tokenDetails, claimDetails)``: the first setting call of
   each module goes through ``complianceSettings``, later ones through
   ``compliance.callModuleFunction`` by the owner;
5. investors: ``idFactory.createIdentity(wallet, salt)``, the wallet adds its signed claims
   (KYC, accreditation, country), the agent registers it in the identity registry with its
   ISO numeric country; then the agent unpauses and mints.

Gas: each transaction kind is estimated once, then sent with that estimate plus a margin
(py-evm estimation costs as much as several transactions).

:func:`deploy_demo_suite` builds the demo token: investors in JP, SG and US,
CountryAllowModule(JP, SG) and MaxBalanceModule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from eth_abi.abi import encode as abi_encode
from web3 import Web3
from web3.contract import Contract

from adapters.evm.abi_gen import load_artifact
from adapters.evm.client import EvmClient
from adapters.evm.signer import EvmSigner
from bridge.errors import InvalidInput
from bridge.model import ClaimType
from bridge.ports import TxReceipt
from bridge.types import alpha2_to_numeric

__all__ = [
    "DEFAULT_TOPICS",
    "DEMO_INVESTORS",
    "TOPIC_ACCREDITED",
    "TOPIC_COUNTRY",
    "TOPIC_KYC",
    "InvestorSpec",
    "ModuleConfig",
    "TrexDeployer",
    "TrexInvestor",
    "TrexSuite",
    "claim_digest",
    "deploy_demo_suite",
]

TOPIC_KYC: Final = 1
TOPIC_ACCREDITED: Final = 2
TOPIC_COUNTRY: Final = 3

DEFAULT_TOPICS: Final[Mapping[int, ClaimType]] = {
    TOPIC_KYC: ClaimType.KYC,
    TOPIC_ACCREDITED: ClaimType.ACCREDITED,
    TOPIC_COUNTRY: ClaimType.JURISDICTION,
}
"""Claim topic -> canonical claim type used by the suites deployed here."""

_MARGIN_NUM: Final = 3
_MARGIN_DEN: Final = 2
_MARGIN_ADD: Final = 60_000


def claim_digest(identity: str, topic: int, data: bytes) -> bytes:
    """The hash an ONCHAINID claim issuer signs: keccak(abi.encode(identity, topic, data))."""
    return bytes(Web3.keccak(abi_encode(["address", "uint256", "bytes"], [identity, topic, data])))


def key_of(address: str) -> bytes:
    """An ERC-734 key for an address: keccak(abi.encode(address))."""
    return bytes(Web3.keccak(abi_encode(["address"], [address])))


@dataclass(frozen=True)
class ModuleConfig:
    """A compliance module to bind, with its setting calls ``(function name, args)``."""

    name: str
    calls: tuple[tuple[str, tuple[Any, ...]], ...] = ()


@dataclass(frozen=True)
class InvestorSpec:
    """An investor to create: wallet label, country, claims, and whether to register it."""

    label: str
    country: str
    kyc: bool = True
    accredited: bool = False
    register: bool = True


@dataclass
class TrexInvestor:
    """A created investor: wallet signer, ONCHAINID identity (if any), country."""

    label: str
    signer: EvmSigner
    country: str
    identity: str | None
    registered: bool

    @property
    def address(self) -> str:
        """The investor's wallet address."""
        return self.signer.address


@dataclass
class TrexSuite:
    """Addresses and keys of a deployed T-REX suite (all contracts, owner, agent, investors)."""

    token: str
    identity_registry: str
    identity_registry_storage: str
    trusted_issuers_registry: str
    claim_topics_registry: str
    compliance: str
    claim_issuer: str
    id_factory: str
    owner: EvmSigner
    agent: EvmSigner
    claim_signer: EvmSigner
    modules: dict[str, str] = field(default_factory=dict)
    investors: dict[str, TrexInvestor] = field(default_factory=dict)
    required_topics: tuple[int, ...] = (TOPIC_KYC,)
    salt: str = ""

    def investor(self, label: str) -> TrexInvestor:
        """The investor created under ``label``."""
        return self.investors[label]


class TrexDeployer:
    """Deploys T-REX suites on one client; one owner signer pays for and owns everything."""

    def __init__(
        self,
        client: EvmClient,
        owner: EvmSigner,
        *,
        fund_wei: int = 10**19,
    ) -> None:
        self.client = client
        self.owner = owner
        self.fund_wei = fund_wei
        self._gas: dict[str, int] = {}
        self._factory: Contract | None = None
        self._id_factory: Contract | None = None

    # -- plumbing --------------------------------------------------------------------

    def contract(self, name: str, address: str) -> Contract:
        """A contract bound to ``address`` with the npm artifact ABI of ``name``."""
        return self.client.contract(address, load_artifact(name)["abi"])

    def deploy(self, name: str, *args: Any, signer: EvmSigner | None = None) -> Contract:
        """Deploy artifact ``name`` with constructor ``args`` (gas estimated)."""
        artifact = load_artifact(name)
        return self.client.deploy(
            signer or self.owner, artifact["abi"], artifact["bytecode"], *args
        )

    def send(self, fn_call: Any, signer: EvmSigner | None = None) -> TxReceipt:
        """Send a contract function call; estimate gas once per function, then reuse it."""
        who = signer or self.owner
        data = bytes.fromhex(str(fn_call._encode_transaction_data()).removeprefix("0x"))
        key = f"{fn_call.address}:{fn_call.fn_name}"
        generic = f"*:{fn_call.fn_name}"
        if fn_call.fn_name == "callModuleFunction":
            # one compliance forwards every module's setters: the gas is the setter's
            # (module address and the forwarded selector)
            key = generic = f"{fn_call.address}:{data[36:68].hex()}:{data[100:104].hex()}"
        gas = self._gas.get(key) or self._gas.get(generic)
        if gas is None:
            estimate = self.client.estimate(
                {"from": who.address, "to": fn_call.address, "data": "0x" + data.hex()}
            )
            gas = estimate * _MARGIN_NUM // _MARGIN_DEN + _MARGIN_ADD
            self._gas[key] = gas
            self._gas.setdefault(generic, gas)
        return self.client.transact(who, fn_call.address, data, gas=gas)

    def fund(self, *addresses: str) -> None:
        """Give each address ``fund_wei`` from the dev faucet."""
        for address in addresses:
            self.client.fund(address, self.fund_wei)

    # -- infrastructure ----------------------------------------------------------------

    def infrastructure(self) -> tuple[Contract, Contract]:
        """Deploy (once) the implementation authority, the TREX factory and the IdFactory."""
        if self._factory is not None and self._id_factory is not None:
            return self._factory, self._id_factory
        self.fund(self.owner.address)
        impls = [
            self.deploy(name).address
            for name in (
                "Token",
                "ClaimTopicsRegistry",
                "IdentityRegistry",
                "IdentityRegistryStorage",
                "TrustedIssuersRegistry",
                "ModularCompliance",
            )
        ]
        zero = "0x" + "00" * 20
        authority = self.deploy("TREXImplementationAuthority", True, zero, zero)
        self.send(authority.functions.addAndUseTREXVersion((4, 0, 0), tuple(impls)))
        identity_lib = self.deploy("Identity", self.owner.address, True)
        id_authority = self.deploy("ImplementationAuthority", identity_lib.address)
        id_factory = self.deploy("IdFactory", id_authority.address)
        factory = self.deploy("TREXFactory", authority.address, id_factory.address)
        self.send(id_factory.functions.addTokenFactory(factory.address))
        self._factory, self._id_factory = factory, id_factory
        return factory, id_factory

    def deploy_module(self, name: str) -> Contract:
        """Deploy and initialise one compliance module (owned by the owner)."""
        module = self.deploy(name)
        self.send(module.functions.initialize())
        return module

    def module_call(self, name: str, fn: str, args: Sequence[Any]) -> bytes:
        """Calldata of ``fn(args)`` on module ``name`` (what the compliance forwards)."""
        abi = load_artifact(name)["abi"]
        dummy = self.client.w3.eth.contract(abi=abi)
        return bytes.fromhex(str(dummy.encode_abi(fn, args=list(args))).removeprefix("0x"))

    def claim_issuer(self) -> tuple[Contract, EvmSigner]:
        """A ClaimIssuer managed by the owner, with a separate claim-signing key (purpose 3)."""
        signer = EvmSigner.generate()
        issuer = self.deploy("ClaimIssuer", self.owner.address)
        self.send(issuer.functions.addKey(key_of(signer.address), 3, 1))
        return issuer, signer

    # -- suites ------------------------------------------------------------------------

    def deploy_suite(
        self,
        *,
        name: str,
        symbol: str,
        decimals: int,
        modules: Sequence[ModuleConfig] = (),
        required_topics: Sequence[int] = (TOPIC_KYC,),
        salt: str | None = None,
        agent: EvmSigner | None = None,
    ) -> TrexSuite:
        """Deploy token, registries and compliance with ``modules`` bound; no investors yet."""
        if not 0 <= decimals <= 18:
            raise InvalidInput("decimals", "T-REX allows 0..18")
        factory, id_factory = self.infrastructure()
        agent = agent or EvmSigner.generate()
        self.fund(agent.address)
        issuer, claim_signer = self.claim_issuer()
        bound: dict[str, str] = {}
        settings: list[bytes] = []
        later: list[tuple[str, bytes]] = []
        for config in modules:
            module = self.deploy_module(config.name)
            bound[config.name] = module.address
            encoded = [self.module_call(config.name, fn, args) for fn, args in config.calls]
            settings.append(encoded[0] if encoded else b"")
            later.extend((module.address, data) for data in encoded[1:])
        # the factory forwards settings[i] to modules[i]; an empty call is not allowed, so
        # modules without settings go last and get no entry.
        names = list(bound)
        with_settings = [n for n, s in zip(names, settings, strict=True) if s]
        without = [n for n, s in zip(names, settings, strict=True) if not s]
        ordered = with_settings + without
        settings_ordered = [s for s in settings if s]
        salt = salt or f"{symbol}-{self.client.head()}-{EvmSigner.generate().address[-8:]}"
        topics = list(dict.fromkeys([*required_topics]))
        details = (
            self.owner.address,
            name,
            symbol,
            decimals,
            "0x" + "00" * 20,
            "0x" + "00" * 20,
            [agent.address],
            [agent.address],
            [bound[n] for n in ordered],
            settings_ordered,
        )
        issuer_topics = sorted(set(topics) | set(DEFAULT_TOPICS))  # trusted for all it signs
        claims = (topics, [issuer.address], [issuer_topics])
        receipt = self.send(factory.functions.deployTREXSuite(salt, details, claims))
        raw = self.client.receipt(receipt.tx_id)
        events = factory.events.TREXSuiteDeployed().process_receipt(
            raw,
            errors=_discard(),
        )
        if not events:
            raise InvalidInput("deployTREXSuite", "no TREXSuiteDeployed event in the receipt")
        args = events[0]["args"]
        compliance = self.contract("ModularCompliance", args["_mc"])
        for module_address, data in later:
            self.send(compliance.functions.callModuleFunction(data, module_address))
        suite = TrexSuite(
            token=args["_token"],
            identity_registry=args["_ir"],
            identity_registry_storage=args["_irs"],
            trusted_issuers_registry=args["_tir"],
            claim_topics_registry=args["_ctr"],
            compliance=args["_mc"],
            claim_issuer=issuer.address,
            id_factory=id_factory.address,
            owner=self.owner,
            agent=agent,
            claim_signer=claim_signer,
            modules=bound,
            required_topics=tuple(topics),
            salt=salt,
        )
        token = self.contract("Token", suite.token)
        self.send(token.functions.unpause(), agent)
        return suite

    def add_module(
        self, suite: TrexSuite, config: ModuleConfig, *, token_agent: bool = False
    ) -> str:
        """Bind one more module to ``suite``'s compliance and run its setting calls.

        ``token_agent`` makes the module an agent of the token first (TransferFeesModule
        needs it to bind: it collects fees by forced transfers).
        """
        module = self.deploy_module(config.name)
        if token_agent:
            token = self.contract("Token", suite.token)
            self.send(token.functions.addAgent(module.address))
        compliance = self.contract("ModularCompliance", suite.compliance)
        self.send(compliance.functions.addModule(module.address))
        for fn, args in config.calls:
            data = self.module_call(config.name, fn, args)
            self.send(compliance.functions.callModuleFunction(data, module.address))
        suite.modules[config.name] = module.address
        return module.address

    def configure_module(self, suite: TrexSuite, name: str, fn: str, args: Sequence[Any]) -> None:
        """Call a setter of an already bound module through the compliance (owner)."""
        compliance = self.contract("ModularCompliance", suite.compliance)
        data = self.module_call(name, fn, args)
        self.send(compliance.functions.callModuleFunction(data, suite.modules[name]))

    # -- investors ---------------------------------------------------------------------

    def sign_claim(self, suite: TrexSuite, identity: str, topic: int, data: bytes) -> bytes:
        """The claim signer's EIP-191 signature of a claim for ``identity``."""
        return suite.claim_signer.sign_message_hash(claim_digest(identity, topic, data))

    def add_claim(
        self, suite: TrexSuite, investor: TrexInvestor, topic: int, data: bytes = b""
    ) -> None:
        """The investor's wallet adds a claim signed by the suite's claim issuer."""
        if investor.identity is None:
            raise InvalidInput("investor", "has no ONCHAINID identity")
        identity = self.contract("Identity", investor.identity)
        signature = self.sign_claim(suite, investor.identity, topic, data)
        self.send(
            identity.functions.addClaim(topic, 1, suite.claim_issuer, signature, data, ""),
            investor.signer,
        )

    def add_investor(
        self, suite: TrexSuite, spec: InvestorSpec, *, signer: EvmSigner | None = None
    ) -> TrexInvestor:
        """Create wallet + identity with the spec's claims; register it unless told not to."""
        wallet = signer or EvmSigner.generate()
        self.fund(wallet.address)
        _, id_factory = self.infrastructure()
        identity_address: str | None = None
        if spec.register or spec.kyc or spec.accredited:
            self.send(
                id_factory.functions.createIdentity(wallet.address, f"{suite.salt}-{spec.label}")
            )
            identity_address = str(
                self.client.read(id_factory.functions.getIdentity(wallet.address))
            )
        investor = TrexInvestor(
            label=spec.label,
            signer=wallet,
            country=spec.country,
            identity=identity_address,
            registered=False,
        )
        numeric = alpha2_to_numeric(spec.country)
        if spec.kyc:
            self.add_claim(suite, investor, TOPIC_KYC, b"")
        if spec.accredited:
            self.add_claim(suite, investor, TOPIC_ACCREDITED, b"")
        if identity_address is not None:
            self.add_claim(suite, investor, TOPIC_COUNTRY, abi_encode(["uint16"], [numeric]))
        if spec.register and identity_address is not None:
            self.register(suite, investor)
        suite.investors[spec.label] = investor
        return investor

    def register(self, suite: TrexSuite, investor: TrexInvestor) -> None:
        """The agent registers the investor's wallet, identity and country."""
        if investor.identity is None:
            raise InvalidInput("investor", "has no ONCHAINID identity")
        registry = self.contract("IdentityRegistry", suite.identity_registry)
        numeric = alpha2_to_numeric(investor.country)
        self.send(
            registry.functions.registerIdentity(investor.address, investor.identity, numeric),
            suite.agent,
        )
        investor.registered = True

    def mint(self, suite: TrexSuite, to: str, amount: int) -> TxReceipt:
        """The agent mints ``amount`` base units to ``to``."""
        token = self.contract("Token", suite.token)
        return self.send(token.functions.mint(to, amount), suite.agent)


def _discard() -> Any:
    from web3.logs import DISCARD

    return DISCARD


DEMO_INVESTORS: Final[tuple[InvestorSpec, ...]] = (
    InvestorSpec("alice", "JP", accredited=True),
    InvestorSpec("bob", "SG"),
    InvestorSpec("carol", "US", accredited=True),
    InvestorSpec("dave", "JP"),
    InvestorSpec("erin", "SG"),
    InvestorSpec("frank", "JP", kyc=False),
    InvestorSpec("mallory", "JP", register=False, kyc=False),
)
"""Demo investors: alice/dave (JP) and bob/erin (SG) eligible; carol (US) registered but in
a country the token does not allow; frank registered without KYC; mallory not registered."""


def deploy_demo_suite(
    client: EvmClient,
    *,
    owner: EvmSigner | None = None,
    investors: Iterable[InvestorSpec] = DEMO_INVESTORS,
    allowed_countries: Sequence[str] = ("JP", "SG"),
    max_balance: int = 1_000_000,
    mint: Mapping[str, int] | None = None,
    name: str = "Tokyo Office Trust",
    symbol: str = "TOT",
    decimals: int = 0,
    deployer: TrexDeployer | None = None,
) -> TrexSuite:
    """Deploy the demo token: CountryAllowModule(allowed) + MaxBalanceModule(max_balance).

    Investors are created from ``investors``; ``mint`` (label -> amount) is minted after
    (default: 400,000 to alice, 300,000 to bob, 100,000 to dave). Pass ``deployer`` to keep
    using its factories afterwards (more suites, investors, modules).
    """
    deployer = deployer or TrexDeployer(client, owner or EvmSigner.generate())
    countries = [alpha2_to_numeric(c) for c in allowed_countries]
    modules = (
        ModuleConfig("CountryAllowModule", (("batchAllowCountries", (countries,)),)),
        ModuleConfig("MaxBalanceModule", (("setMaxBalance", (max_balance,)),)),
    )
    suite = deployer.deploy_suite(name=name, symbol=symbol, decimals=decimals, modules=modules)
    for spec in investors:
        deployer.add_investor(suite, spec)
    plan = {"alice": 400_000, "bob": 300_000, "dave": 100_000} if mint is None else mint
    for label, amount in plan.items():
        deployer.mint(suite, suite.investor(label).address, amount)
    return suite
