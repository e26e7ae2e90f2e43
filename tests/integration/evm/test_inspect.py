"""``inspect_evm`` / ``inspect_client``: auto-detection and the bad-input cases, both backends."""

from __future__ import annotations

import pytest

from adapters.evm.client import EvmClient
from adapters.evm.inspect import detect_standard, inspect_client, inspect_evm
from bridge.errors import ChainUnavailable, InvalidInput, NotFound, WrongStandard
from bridge.model import Standard
from tests.fixtures.evm import EvmTestChain, _free_port


def _inspect(chain: EvmTestChain, address: str, **kwargs: object) -> object:
    """Over the URL on anvil (the CLI path), over the client on py-evm (in process)."""
    if chain.backend == "anvil":
        url = chain.client.w3.provider.endpoint_uri  # type: ignore[attr-defined]
        return inspect_evm(rpc=str(url), address=address, **kwargs)  # type: ignore[arg-type]
    return inspect_client(chain.client, address=address, **kwargs)  # type: ignore[arg-type]


def test_auto_detects_trex_and_reads_holders(evm_chain: EvmTestChain) -> None:
    """auto -> ERC-3643; holders with progress; RPC counters reported."""
    seen: list[tuple[int, int]] = []
    result = _inspect(
        evm_chain,
        evm_chain.suite.token,
        holders=True,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert result.asset.standard is Standard.ERC3643  # type: ignore[attr-defined]
    assert len(result.holdings) == 3  # type: ignore[attr-defined]
    assert result.stats["holders"] == 3  # type: ignore[attr-defined]
    assert result.stats["rpc_requests"] > 0  # type: ignore[attr-defined]
    assert seen
    assert seen[-1] == (3, 3)


def test_detect_standard_refuses_a_non_token(evm_chain: EvmTestChain) -> None:
    """The identity registry is a contract but no token of any known standard."""
    with pytest.raises(WrongStandard):
        detect_standard(evm_chain.client, evm_chain.suite.identity_registry)


@pytest.mark.parametrize(
    ("address", "standard", "error", "field"),
    [
        ("0x1234", "auto", InvalidInput, "address"),
        ("0x" + "zz" * 20, "erc3643", InvalidInput, "address"),
        ("0x" + "12" * 20, "auto", NotFound, None),
        ("IR", "erc3643", WrongStandard, None),
        ("IR", "auto", WrongStandard, None),
        ("TOKEN", "no-such-standard", InvalidInput, "standard"),
    ],
)
def test_bad_targets_give_one_clear_error(
    evm_chain: EvmTestChain, address: str, standard: str, error: type[Exception], field: str | None
) -> None:
    """Malformed address, no code, wrong standard, unknown standard: one line, right class."""
    target = {"IR": evm_chain.suite.identity_registry, "TOKEN": evm_chain.suite.token}.get(
        address, address
    )
    head = evm_chain.client.head()
    with pytest.raises(error) as info:
        _inspect(evm_chain, target, standard=standard)
    assert "\n" not in str(info.value)
    if field is not None:
        assert getattr(info.value, "field", None) == field
    assert evm_chain.client.head() == head


def test_unreachable_rpc() -> None:
    """Nobody listening: ChainUnavailable, one line."""
    with pytest.raises(ChainUnavailable) as info:
        inspect_evm(rpc=f"http://127.0.0.1:{_free_port()}", address="0x" + "12" * 20)
    assert "\n" not in str(info.value)


def test_bad_rpc_url_is_invalid_input() -> None:
    """Neither 'embedded' nor an http(s) URL."""
    with pytest.raises(InvalidInput) as info:
        EvmClient.from_target("ftp://example.org")
    assert info.value.field == "rpc"


def test_auto_falls_back_to_built_in_probes_when_registry_breaks(
    evm_chain: EvmTestChain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken adapter entry point (ConfigError) does not stop detection of T-REX."""
    import adapters.evm.inspect as evm_inspect
    from bridge.errors import ConfigError

    def broken() -> object:
        raise ConfigError("adapter entry point 'x' failed")

    monkeypatch.setattr(evm_inspect, "load_registry", broken)
    spec = evm_inspect.detect_standard(evm_chain.client, evm_chain.suite.token)
    assert spec.standard is Standard.ERC3643


def test_from_block_bounds_the_holder_scan(evm_chain: EvmTestChain) -> None:
    """``from_block`` is where the holder scan starts reading events: from the block after
    the head nothing is found (the mints are older; from block 0 the three holders are, as
    the test above shows); a negative block is refused naming the field."""
    head = evm_chain.client.head()
    later = _inspect(evm_chain, evm_chain.suite.token, holders=True, from_block=head + 1)
    assert result_holders(later) == 0
    with pytest.raises(InvalidInput, match="from_block"):
        _inspect(evm_chain, evm_chain.suite.token, holders=True, from_block=-1)


def result_holders(result: object) -> int:
    """How many holdings an inspection found."""
    return len(result.holdings)  # type: ignore[attr-defined]
