"""Hypothesis strategies for the canonical model, shared by every property suite.

Each strategy builds only valid values (a strategy for invalid input mutates a valid one),
so a failure always points at the model or the code under test, not at the generator.
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta

import pycountry
from Crypto.Hash import SHA512
from hypothesis import strategies as st

from bridge import model as m
from bridge.reasons import ReasonCode
from bridge.types import UINT64_MAX, UINT256_MAX, to_checksum_address

COUNTRIES = sorted(c.alpha_2 for c in pycountry.countries)
CURRENCIES = ["JPY", "USD", "EUR", "SGD", "CHF", "HKD", "GBP"]

amounts = st.one_of(
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=UINT256_MAX),
)
amounts64 = st.integers(min_value=0, max_value=UINT64_MAX)
small_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
countries = st.sampled_from(COUNTRIES)
currencies = st.sampled_from(CURRENCIES)
aware_datetimes = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))


@st.composite
def evm_addresses(draw: st.DrawFn) -> str:
    """A checksummed EVM address."""
    raw = draw(st.binary(min_size=20, max_size=20))
    return to_checksum_address("0x" + raw.hex())


@st.composite
def algorand_addresses(draw: st.DrawFn) -> str:
    """An Algorand address with a correct checksum."""
    key = draw(st.binary(min_size=32, max_size=32))
    checksum = SHA512.new(key, truncate="256").digest()[-4:]
    return base64.b32encode(key + checksum).decode().rstrip("=")


addresses = st.one_of(evm_addresses(), algorand_addresses())

evm_chains = st.builds(m.EvmChain, chain_id=st.integers(1, 2**40), name=st.none() | small_text)
algorand_chains = st.builds(
    m.AlgorandChain,
    genesis_hash=st.binary(min_size=32, max_size=32).map(lambda b: base64.b64encode(b).decode()),
    network=st.none() | st.just("embedded"),
)


@st.composite
def asset_refs(draw: st.DrawFn) -> m.AssetRef:
    """A consistent chain + locator pair."""
    if draw(st.booleans()):
        return m.AssetRef(
            chain=draw(evm_chains), locator=m.EvmContractLocator(address=draw(evm_addresses()))
        )
    return m.AssetRef(
        chain=draw(algorand_chains),
        locator=m.AlgorandAsaLocator(
            asset_id=draw(st.integers(1, UINT64_MAX)),
            app_id=draw(st.none() | st.integers(1, UINT64_MAX)),
        ),
    )


rules = st.one_of(
    st.builds(m.CountryAllowRule, countries=st.lists(countries, max_size=5).map(tuple)),
    st.builds(m.CountryDenyRule, countries=st.lists(countries, max_size=5).map(tuple)),
    st.builds(m.MaxHoldersRule, limit=st.integers(0, 10**6), country=st.none() | countries),
    st.builds(m.MaxBalanceRule, limit=amounts, per=st.sampled_from(["identity", "wallet"])),
    st.builds(m.MinHoldingRule, amount=amounts),
    st.builds(m.MaxOwnershipRule, limit_bps=st.integers(0, 10_000)),
    st.builds(
        m.VolumeLimitRule,
        window_seconds=st.integers(1, 10**8),
        amount=amounts,
        window=st.sampled_from(["sliding", "fixed"]),
        per=st.sampled_from(["wallet", "identity"]),
        agents_exempt=st.booleans(),
        into=st.none() | addresses,
    ),
    st.builds(m.LockupRule, until=aware_datetimes),
    st.builds(m.LockupRule, period_seconds=st.integers(1, 10**9)),
    st.builds(m.IssuerApprovalRule, source=st.none() | small_text),
    st.builds(
        m.AllowListRule,
        addresses=st.lists(addresses, max_size=3).map(tuple),
        scope=st.sampled_from(["both", "either", "recipient"]),
    ),
    st.builds(
        m.DenyListRule,
        addresses=st.lists(addresses, max_size=3).map(tuple),
        scope=st.sampled_from(["either", "recipient"]),
    ),
    st.builds(m.TransferFeeRule, rate_bps=st.integers(0, 10_000), collector=addresses),
    st.builds(m.SupplyCapRule, limit=amounts),
    st.builds(m.FullTransferOnlyRule),
    st.builds(m.FlowbackBlockRule, until=aware_datetimes, countries=st.lists(countries).map(tuple)),
    st.builds(
        m.RequiredClaimsRule,
        claim_types=st.lists(st.sampled_from(list(m.ClaimType)), min_size=1).map(tuple),
        topics=st.lists(st.integers(0, 2**32)).map(tuple),
    ),
    st.builds(
        m.OpaqueRule,
        standard=st.sampled_from(list(m.Standard)),
        name=small_text,
        source=evm_addresses(),
    ),
)

terms = st.one_of(
    st.builds(
        m.EquityTerms,
        currency=currencies,
        issue_price=st.none() | amounts,
        dividend_payment_date=st.none() | dates,
    ),
    st.builds(
        m.BondTerms,
        currency=currencies,
        face_value=amounts,
        coupon_rate_ppm=st.none() | st.integers(0, 10_000_000),
        coupon_payment_dates=st.lists(st.sampled_from(["0331", "0930"]), max_size=2).map(tuple),
        maturity_date=st.none() | dates,
    ),
    st.builds(m.FundTerms, currency=currencies, nav_per_unit=st.none() | amounts),
    st.builds(m.RealEstateTerms, currency=currencies, property_country=st.none() | countries),
    st.builds(m.CashTerms, currency=currencies),
    st.builds(
        m.OtherTerms,
        description=small_text,
        attributes=st.dictionaries(small_text, small_text, max_size=3),
    ),
)

documents = st.one_of(
    st.builds(m.Document, name=st.text(min_size=1, max_size=10), uri=st.just("ipfs://doc")),
    st.builds(
        m.Document,
        name=st.text(min_size=1, max_size=10),
        uri=st.just("https://issuer.example/terms.pdf"),
        hash=st.binary(min_size=32, max_size=32).map(bytes.hex),
        hash_alg=st.just("sha256"),
        last_modified=st.none() | aware_datetimes,
    ),
)


@st.composite
def assets(draw: st.DrawFn) -> m.Asset:
    """A valid asset on either chain family, within the chain's limits."""
    ref = draw(asset_refs())
    on_algorand = ref.chain.kind == "algorand"
    standard = draw(
        st.sampled_from(
            [m.Standard.ASA, m.Standard.REGULATED_ASA]
            if on_algorand
            else [m.Standard.ERC20, m.Standard.ERC3643, m.Standard.ERC1400, m.Standard.IBET_BOND]
        )
    )
    ibet = standard in (m.Standard.IBET_SHARE, m.Standard.IBET_BOND)
    return m.Asset(
        chain=ref.chain,
        locator=ref.locator,
        standard=standard,
        asset_class=draw(st.sampled_from(["security", "cash"])),
        name=draw(small_text),
        symbol=draw(st.text(max_size=8)),
        decimals=0 if ibet else draw(st.integers(0, 19 if on_algorand else 255)),
        total_supply=draw(amounts64 if on_algorand else amounts),
        paused=draw(st.booleans()),
        home_jurisdiction=draw(st.none() | countries | st.just("EU")),
        identifiers=draw(
            st.lists(
                st.sampled_from(
                    [
                        m.Identifier(kind="isin", value="US0378331005"),
                        m.Identifier(kind="isin", value="JP3633400001"),
                        m.Identifier(kind="lei", value="5493001KJTIIGC8Y1R12"),
                    ]
                ),
                max_size=2,
            ).map(tuple)
        ),
        issuer=draw(st.none() | addresses),
        terms=draw(st.none() | terms),
        documents=draw(st.lists(documents, max_size=2).map(tuple)),
        rules=draw(st.lists(rules, max_size=4).map(tuple)),
        controls=draw(st.lists(st.sampled_from(list(m.Capability)), max_size=5).map(tuple)),
        roles=draw(
            st.lists(
                st.builds(
                    m.RoleAssignment, role=st.sampled_from(["agent", "owner"]), holder=addresses
                ),
                max_size=2,
            ).map(tuple)
        ),
    )


@st.composite
def holdings(draw: st.DrawFn) -> m.Holding:
    """A holding that keeps ``balance == free + frozen`` and partitions that add up."""
    free = draw(st.integers(0, 10**30))
    frozen = draw(st.integers(0, 10**30))
    balance = free + frozen
    by_partition: dict[str, int] = {}
    if draw(st.booleans()) and balance > 0:
        first = draw(st.integers(0, balance))
        by_partition = {"0x" + "11" * 32: first, "0x" + "22" * 32: balance - first}
    return m.Holding(
        holder=draw(addresses),
        balance=balance,
        free=free,
        frozen=frozen,
        locked=draw(st.dictionaries(st.sampled_from(["lock-a", "lock-b"]), amounts, max_size=2)),
        pending=draw(amounts),
        by_partition=by_partition,
        opted_in=draw(st.none() | st.booleans()),
    )


claims = st.builds(
    m.Claim,
    type=st.sampled_from([t for t in m.ClaimType if t is not m.ClaimType.CUSTOM]),
    issuer=st.none() | evm_addresses(),
    topic=st.none() | st.integers(0, 2**32),
    valid_until=st.none() | aware_datetimes,
)

investors = st.builds(
    m.Investor,
    identity_ref=st.text(min_size=1, max_size=20),
    identity_source=st.sampled_from(list(m.IdentitySource)),
    wallets=st.lists(addresses, max_size=3).map(tuple),
    country=st.none() | countries,
    classifications=st.lists(
        st.builds(
            m.Classification,
            jurisdiction=countries | st.just("EU"),
            investor_class=st.sampled_from(list(m.InvestorClass)),
        ),
        max_size=2,
    ).map(tuple),
    claims=st.lists(claims, max_size=3).map(tuple),
)


@st.composite
def eligibilities(draw: st.DrawFn) -> m.Eligibility:
    """An eligibility verdict consistent with its ``missing`` list."""
    eligible = draw(st.booleans())
    return m.Eligibility(
        asset=draw(asset_refs()),
        wallet=draw(addresses),
        eligible=eligible,
        investor=draw(st.none() | investors),
        missing=() if eligible else ("kyc",),
    )


transfer_intents = st.builds(
    m.TransferIntent,
    asset=asset_refs(),
    sender=addresses,
    recipient=addresses,
    amount=amounts,
    partition=st.none() | st.just("0x" + "00" * 32),
)

refusals = st.builds(
    m.Refusal,
    code=st.sampled_from([c for c in ReasonCode if c is not ReasonCode.OK]),
    source_standard=st.none() | st.sampled_from(list(m.Standard)),
    raw_code=st.none() | st.text(max_size=10),
    raw_message=st.none() | small_text,
    detail=small_text,
)


@st.composite
def transfer_checks(draw: st.DrawFn) -> m.TransferCheck:
    """A verdict whose ``allowed`` flag matches its refusals."""
    allowed = draw(st.booleans())
    return m.TransferCheck(
        intent=draw(transfer_intents),
        allowed=allowed,
        refusals=() if allowed else tuple(draw(st.lists(refusals, min_size=1, max_size=3))),
    )


corporate_actions = st.one_of(
    st.builds(
        m.Dividend,
        asset=asset_refs(),
        record_date=dates,
        payment_date=dates,
        amount_per_unit=amounts,
        currency=currencies,
    ),
    st.builds(
        m.CouponPayment,
        asset=asset_refs(),
        payment_date=dates,
        rate_ppm=st.integers(0, 10_000_000),
        amount_per_unit=amounts,
        currency=currencies,
    ),
    st.builds(
        m.Redemption,
        asset=asset_refs(),
        redemption_date=dates,
        amount_per_unit=amounts,
        currency=currencies,
    ),
)

#: every public model (or union) with a strategy, keyed like the schema files.
MODEL_STRATEGIES: dict[str, st.SearchStrategy[object]] = {
    "asset": assets(),
    "asset-ref": asset_refs(),
    "holding": holdings(),
    "investor": investors,
    "eligibility": eligibilities(),
    "transfer-intent": transfer_intents,
    "transfer-check": transfer_checks(),
    "refusal": refusals,
    "rule": rules,
    "corporate-action": corporate_actions,
    "instrument-terms": terms,
}

__all__ = [
    "MODEL_STRATEGIES",
    "addresses",
    "algorand_addresses",
    "amounts",
    "assets",
    "evm_addresses",
    "holdings",
    "timedelta",
]
