"""The CI drift check: shipped contract artifacts equal a fresh build of their sources.

Also checks the pipeline itself: every ``.sol`` under a source tree is compiled
(subfolders included), a tampered artifact is named, and artifacts are deterministic.
Each test runs the npm solc once (about a second).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.evm.contracts import available_artifacts, load_artifact
from adapters.evm.contracts.build import (
    COMPILER_SETTINGS,
    SRC_DIR,
    BuildError,
    build,
    check,
)
from bridge.errors import NotFound

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
        assert art.settings == dict(COMPILER_SETTINGS)
        assert art.compiler_version.startswith("0.8.37")
        if art.deployable:
            assert 0 < art.runtime_size <= EIP170_LIMIT, name


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
    written, _ = build(out, src_dir=src)
    assert written == ["Lib.json", "UsesLib.json"]
    first = (out / "UsesLib.json").read_bytes()
    assert json.loads(first)["sourceName"] == "src/test/UsesLib.sol"
    assert check(out, src_dir=src) == []
    data = json.loads((out / "Lib.json").read_text())
    data["bytecode"] = data["bytecode"][:-2] + "00"
    (out / "Lib.json").write_text(json.dumps(data))
    (out / "Ghost.json").write_text("{}")
    problems = check(out, src_dir=src)
    assert problems == [
        "Ghost.json: shipped but no source declares it any more",
        "Lib.json: differs from a rebuild of its source",
    ]
    build(out, src_dir=src)
    assert not (out / "Ghost.json").exists(), "a rebuild removes artifacts without a source"
    (src / "test" / "UsesLib.sol").write_text(
        (src / "test" / "UsesLib.sol").read_text().replace("Lib.twice(x)", "Lib.twice(x) + 1")
    )
    assert check(out, src_dir=src) == ["UsesLib.json: differs from a rebuild of its source"]


def test_compiler_error_is_a_build_error(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "Broken.sol").write_text("pragma solidity ^0.8.24;\ncontract Broken { uint x = ; }\n")
    with pytest.raises(BuildError, match=r"Broken\.sol"):
        build(tmp_path / "out", src_dir=src)


def test_unknown_artifact_is_not_found() -> None:
    with pytest.raises(NotFound, match="CashToken"):
        load_artifact("NoSuchContract")
