"""The CI drift check: shipped contract artifacts equal a fresh build of their sources.

Also checks the pipeline itself: every ``.sol`` under a source tree is compiled
(subfolders included), a tampered artifact is named, and artifacts are deterministic.
Each test runs the npm solc once (about a second).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from web3 import Web3

from adapters.evm.contracts import available_artifacts, load_artifact, require_runs_on
from adapters.evm.contracts.build import (
    SRC_DIR,
    TARGETS,
    BuildError,
    build,
    check,
    default_target,
    resolve_variant,
    settings_for,
)
from bridge.errors import ConfigError, InvalidInput, NotFound

EIP170_LIMIT = 24_576


def test_shipped_artifacts_match_a_rebuild() -> None:
    assert check() == []


def test_every_shipped_deployable_fits_eip170_and_names_its_source() -> None:
    names = available_artifacts()
    assert "CashToken" in names
    for name in names:
        art = load_artifact(name)
        assert art.name == name
        assert (SRC_DIR.parent / art.source_name).is_file()
        assert art.settings == settings_for(default_target(art.source_name))
        assert art.compiler_version.startswith("0.8.37")
        if art.deployable:
            assert 0 < art.runtime_size <= EIP170_LIMIT, name
        for target in TARGETS:
            built = load_artifact(name, target)
            assert built.evm_version == target
            # one interface on every target (the pre-Cancun HTLC adds only a constructor)
            assert [i for i in built.abi if i["type"] != "constructor"] == [
                i for i in art.abi if i["type"] != "constructor"
            ], (name, target)
            if built.deployable:
                assert 0 < built.runtime_size <= EIP170_LIMIT, (name, target)


def test_ibet_contracts_default_to_berlin_the_rest_to_cancun() -> None:
    for name in ("IbetShare", "IbetStraightBond", "PersonalInfo", "IbetHTLC"):
        assert load_artifact(name).evm_version == "berlin", name
    for name in ("HTLC", "CashToken", "SecurityToken1400"):
        assert load_artifact(name).evm_version == "cancun", name


def test_a_build_the_chain_cannot_run_is_refused_in_one_line() -> None:
    htlc = load_artifact("HTLC")
    with pytest.raises(ConfigError) as refused:
        require_runs_on(htlc, "shanghai", chain="chain 7")
    assert "\n" not in str(refused.value)
    assert "HTLC is built for cancun" in str(refused.value)
    assert "transient-storage" in str(refused.value)
    require_runs_on(load_artifact("HTLC", "shanghai"), "shanghai")
    require_runs_on(htlc, "prague")
    with pytest.raises(InvalidInput, match="evm_version"):
        load_artifact("HTLC", "istanbul")


def test_pre_cancun_htlc_uses_no_transient_storage_and_its_guard_slot_is_named() -> None:
    source = (SRC_DIR / "HTLC.sol").read_text()
    slot = int.from_bytes(Web3.keccak(text="stbridge.htlc.guard"), "big") - 1
    assert f"0x{slot:064x}" in source
    for target in TARGETS:
        resolved = resolve_variant("src/HTLC.sol", source, target)
        uses_transient = "tload(" in resolved or "tstore(" in resolved
        assert uses_transient == (target in ("cancun", "prague")), target
        assert ("sstore(GUARD_SLOT" in resolved) != uses_transient, target
        assert resolved.count("\n") == source.count("\n")  # line numbers kept


def test_malformed_variant_directives_are_build_errors() -> None:
    with pytest.raises(BuildError, match="unknown feature"):
        resolve_variant("x.sol", "// #if warp-drive\n// #endif\n", "cancun")
    with pytest.raises(BuildError, match="without"):
        resolve_variant("x.sol", "// #if push0\n", "cancun")
    with pytest.raises(BuildError, match="misplaced"):
        resolve_variant("x.sol", "// #else\n", "cancun")


def test_subfolders_compile_and_drift_is_named(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "test").mkdir(parents=True)
    (src / "Lib.sol").write_text(
        "// SPDX-License-Identifier: Apache-2.0\npragma solidity ^0.8.24;\n"
        "library Lib { function twice(uint256 x) internal pure returns (uint256) "
        "{ return 2 * x; } }\n"
    )
    (src / "test" / "UsesLib.sol").write_text(
        "// SPDX-License-Identifier: Apache-2.0\npragma solidity ^0.8.24;\n"
        'import {Lib} from "../Lib.sol";\n'
        "contract UsesLib { function f(uint256 x) external pure returns (uint256) "
        "{ return Lib.twice(x); } }\n"
    )
    out = tmp_path / "out"
    two = ("berlin", "cancun")
    written, _ = build(out, src_dir=src, targets=two)
    assert written == ["Lib.json", "UsesLib.json"]
    first = (out / "UsesLib.json").read_bytes()
    assert json.loads(first)["sourceName"] == "src/test/UsesLib.sol"
    assert json.loads((out / "berlin" / "UsesLib.json").read_text())["settings"] == settings_for(
        "berlin"
    )
    assert check(out, src_dir=src, targets=two) == []
    data = json.loads((out / "Lib.json").read_text())
    data["bytecode"] = data["bytecode"][:-2] + "00"
    (out / "Lib.json").write_text(json.dumps(data))
    (out / "Ghost.json").write_text("{}")
    (out / "berlin" / "Ghost.json").write_text("{}")
    problems = check(out, src_dir=src, targets=two)
    assert problems == [
        "Ghost.json: shipped but no source declares it any more",
        "Lib.json: differs from a rebuild of its source",
        "berlin/Ghost.json: shipped but no source declares it any more",
    ]
    build(out, src_dir=src, targets=two)
    assert not (out / "Ghost.json").exists(), "a rebuild removes artifacts without a source"
    assert not (out / "berlin" / "Ghost.json").exists()
    (src / "test" / "UsesLib.sol").write_text(
        (src / "test" / "UsesLib.sol").read_text().replace("Lib.twice(x)", "Lib.twice(x) + 1")
    )
    assert check(out, src_dir=src, targets=two) == [
        "UsesLib.json: differs from a rebuild of its source",
        "berlin/UsesLib.json: differs from a rebuild of its source",
        "cancun/UsesLib.json: differs from a rebuild of its source",
    ]


def test_compiler_error_is_a_build_error(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "Broken.sol").write_text("pragma solidity ^0.8.24;\ncontract Broken { uint x = ; }\n")
    with pytest.raises(BuildError, match=r"Broken\.sol"):
        build(tmp_path / "out", src_dir=src, targets=("cancun",))


def test_unknown_artifact_is_not_found() -> None:
    with pytest.raises(NotFound, match="CashToken"):
        load_artifact("NoSuchContract")
