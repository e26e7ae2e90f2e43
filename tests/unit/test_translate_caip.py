"""CAIP-2 chain ids and CAIP-10 account ids in the canonical model (kept beside the fields
they derive from), checked against the test vectors of the CAIP namespaces."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bridge.model import Asset, AssetRef, EvmContractLocator
from bridge.model.chain import AlgorandChain, EvmChain, caip10, parse_caip10

MAINNET = "wGHE2Pwdvd7S12BL5FaOP20EGYesN73ktiC1qzkkit8="
BETANET = "mFgazF+2uRS1tMiL9dsj01hJGySEmPN28B/TjjvpVW0="
ALGO_ADDRESS = "7ZUECA7HFLZTXENRV24SHLU4AVPUTMTTDUFUBNBD64C73F3UHRTHAIOF6Q"


def test_evm_chain_caip2() -> None:
    assert EvmChain(chain_id=1).caip2 == "eip155:1"
    assert EvmChain(chain_id=31337, name="anvil").caip2 == "eip155:31337"


def test_algorand_caip2_vectors() -> None:
    # the algorand namespace's test cases: URL-safe base64, first 32 characters
    assert AlgorandChain(genesis_hash=MAINNET).caip2 == "algorand:wGHE2Pwdvd7S12BL5FaOP20EGYesN73k"
    assert AlgorandChain(genesis_hash=BETANET).caip2 == "algorand:mFgazF-2uRS1tMiL9dsj01hJGySEmPN2"


def test_caip2_round_trips_and_a_wrong_one_is_refused() -> None:
    chain = EvmChain(chain_id=5)
    assert EvmChain.model_validate_json(chain.model_dump_json()) == chain
    with pytest.raises(ValidationError, match="caip2"):
        EvmChain(chain_id=5, caip2="eip155:1")
    with pytest.raises(ValidationError, match="caip2"):
        AlgorandChain.model_validate({"genesis_hash": MAINNET, "caip2": "algorand:x"})
    ref = AssetRef(chain=chain, locator=EvmContractLocator(address="0x" + "11" * 20))
    assert '"caip2":"eip155:5"' in ref.model_dump_json()


def test_caip10_accounts() -> None:
    evm = EvmChain(chain_id=1)
    account = caip10(evm, "0x" + "ab" * 20)
    assert account == "eip155:1:0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"
    assert parse_caip10(account) == ("eip155:1", "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB")
    algo = AlgorandChain(genesis_hash=MAINNET)
    assert algo.caip10(ALGO_ADDRESS) == f"algorand:wGHE2Pwdvd7S12BL5FaOP20EGYesN73k:{ALGO_ADDRESS}"
    with pytest.raises(ValueError, match="address"):
        caip10(algo, "0x" + "ab" * 20)
    with pytest.raises(ValueError, match="CAIP-10"):
        parse_caip10("eip155:1")


def test_asset_json_carries_the_chain_caip2() -> None:
    asset = Asset(
        chain=EvmChain(chain_id=1337),
        locator=EvmContractLocator(address="0x" + "11" * 20),
        standard="erc1400",
        name="x",
        symbol="X",
        decimals=0,
        total_supply=0,
    )
    assert asset.chain.caip2 == "eip155:1337"
    assert Asset.model_validate_json(asset.model_dump_json()) == asset
