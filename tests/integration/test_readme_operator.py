"""The README's operator path, run exactly as written, and the devnet's failure answers.

``test_readme_operator_path`` takes the shell block between the ``operator-path`` markers of
README.md and runs it with bash (``set -e``) in an empty directory, with ``.venv/bin`` on
PATH and no ``STBRIDGE_*`` variable inherited: ``devnet up`` (anvil + the embedded Algorand
ledger behind algod's REST API), ``relayer run --check``, the daemon in the background, an
order submitted through the CLI and settled, a refused one with its reason, ``devnet down``.
A README that drifts from the code fails here.

The other tests share one devnet and play the operator's mistakes: ``--check`` against a
wrong HTLC address and an unreachable node, and ``keygen --import``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from relayer.devnet import read_state

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.anvil


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STBRIDGE_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "200"  # rich tables: keep ids on one line
    return env


def operator_block() -> str:
    """The shell block between the README's operator-path markers."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(
        r"<!-- operator-path:start.*?-->\s*```sh\n(.*?)```\s*<!-- operator-path:end -->",
        text,
        re.DOTALL,
    )
    assert found, "README.md lost its operator-path block"
    return found.group(1)


def library_block() -> str:
    """The README's "Use it as a library" Python block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- readme-test: library.*?-->\s*```python\n(.*?)```", text, re.DOTALL)
    assert found, "README.md lost its library block"
    return found.group(1)


def test_readme_operator_path(tmp_path: Path) -> None:
    """Invariant: the README's operator commands settle a swap and explain a refused one;
    its library example, run while that relayer runs, reads, checks and settles too."""
    operator = operator_block()
    before, stop, after = operator.partition("kill %1")
    assert stop, "the operator block no longer stops the relayer with kill %1"
    (tmp_path / "library.py").write_text(library_block())
    script = before + "python3 library.py\n" + stop + after
    # the harness only adds cleanup if a command fails half-way; the block runs unchanged
    harness = (
        "set -e\n"
        "trap 'status=$?; set +e; kill $(jobs -p) 2>/dev/null; "
        "if [ $status -ne 0 ]; then stbridge devnet down >/dev/null 2>&1; fi; exit $status' EXIT\n"
    )
    done = subprocess.run(
        ["bash", "-c", harness + script],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    log = tmp_path / "devnet" / "relayer.log"
    detail = done.stdout + done.stderr + (log.read_text() if log.exists() else "")
    assert done.returncode == 0, detail
    lines = done.stdout.splitlines()
    assert "completed" in lines, detail
    # the token's own rule refuses carol (US): refused before anything is locked, with why
    assert any(
        line.startswith("refused: the law or the token refuses the trade (nothing locked): COUNTRY")
        for line in lines
    )
    assert any(line.startswith("refused: COUNTRY_RESTRICTED: CountryAllowModule") for line in lines)
    # the library example: the T-REX token read, carol refused by the token, a swap settled
    assert "Tokyo Office Trust erc3643" in done.stdout
    assert "False ['COUNTRY_RESTRICTED']" in done.stdout
    assert lines.count("completed") == 2, detail
    audit = json.loads((tmp_path / "devnet" / "audit.json").read_text())
    assert audit["outcome"] == "completed"
    assert audit["trade"]["buyer"]["residence"] == "SG"
    assert audit["decision"]["allowed"] is True
    # the daemon said what it loaded at start: both chains with their heads and accounts
    relayer_log = log.read_text()
    assert re.search(r"chain evm \(EVM chain id 31337\): head \d+, relayer account 0x", relayer_log)
    assert "chain algorand (Algorand genesis" in relayer_log
    assert read_state(tmp_path / "devnet") is None  # down removed the state: nothing runs
    assert oct((tmp_path / "devnet" / "relayer.sqlite3").stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "devnet" / "devnet.env").stat().st_mode & 0o777) == "0o600"


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    directory = tmp_path_factory.mktemp("devnet") / "dn"
    env = _clean_env()
    up = subprocess.run(
        [str(BIN / "stbridge"), "devnet", "up", "--dir", str(directory), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        for line in (directory / "devnet.env").read_text().splitlines():
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").partition("=")
                env[name] = value
        yield directory, env
    finally:
        subprocess.run(
            [str(BIN / "stbridge"), "devnet", "down", "--dir", str(directory)],
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )


def _stbridge(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "stbridge"), *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_names_a_wrong_htlc_and_exits_3(devnet: tuple[Path, dict[str, str]]) -> None:
    directory, env = devnet
    state = read_state(directory)
    assert state is not None
    alice = state.investors["alice"]["evm"]
    config = directory / "wrong-htlc.toml"
    text = (directory / "relayer.toml").read_text()
    config.write_text(re.sub(r'htlc = "0x[0-9a-fA-F]{40}"', f'htlc = "{alice}"', text))
    done = _stbridge(env, "relayer", "run", "--check", "--config", str(config))
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"FAIL chains.evm.htlc: no contract at {alice}" in done.stdout
    token = state.contracts["TOT (erc3643)"]
    config.write_text(re.sub(r'htlc = "0x[0-9a-fA-F]{40}"', f'htlc = "{token}"', text))
    done = _stbridge(env, "relayer", "run", "--check", "--config", str(config))
    assert done.returncode == 3
    assert "is not stbridge's HTLC.sol" in done.stdout
    # the daemon itself refuses to start on it, naming the field, exit 3
    done = _stbridge(env, "relayer", "run", "--config", str(config))
    assert done.returncode == 3, done.stderr
    assert "chains.evm.htlc" in done.stderr


def test_check_names_an_unreachable_node_and_exits_4(
    devnet: tuple[Path, dict[str, str]],
) -> None:
    directory, env = devnet
    config = directory / "unreachable.toml"
    text = (directory / "relayer.toml").read_text()
    config.write_text(
        re.sub(
            r'endpoint = "http://127.0.0.1:\d+"', 'endpoint = "http://127.0.0.1:9"', text, count=1
        )
    )
    done = _stbridge(env, "relayer", "run", "--check", "--config", str(config))
    assert done.returncode == 4, done.stdout + done.stderr
    assert "FAIL chains.evm: http://127.0.0.1:9 is unreachable" in done.stdout
    assert "ok   chains.algorand" in done.stdout  # every chain is checked, not only the first


def test_check_passes_on_the_devnet(devnet: tuple[Path, dict[str, str]]) -> None:
    directory, env = devnet
    done = _stbridge(
        env, "relayer", "run", "--check", "--config", str(directory / "relayer.toml"), "--json"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    findings = json.loads(done.stdout)
    assert all(f["ok"] for f in findings)
    subjects = {f["subject"] for f in findings}
    assert {"chains.evm.htlc", "chains.evm.keystore", "chains.algorand.keystore"} <= subjects


def test_keygen_imports_an_existing_key(
    devnet: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """An imported key keeps its address; the key never appears in the output."""
    from algosdk import account, mnemonic

    from adapters.evm.signer import EvmSigner

    _, env = devnet
    key = bytes(range(1, 33))
    done = _stbridge(
        env,
        "relayer",
        "keygen",
        "--kind",
        "evm",
        "--out",
        str(tmp_path / "e.json"),
        "--import",
        stdin="0x" + key.hex() + "\n",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == EvmSigner(key).address
    assert key.hex() not in done.stdout + done.stderr
    private, address = account.generate_account()
    words = mnemonic.from_private_key(private)
    done = _stbridge(
        env,
        "relayer",
        "keygen",
        "--kind",
        "algorand",
        "--out",
        str(tmp_path / "a.json"),
        "--import",
        stdin=words,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == address
    done = _stbridge(
        env,
        "relayer",
        "keygen",
        "--kind",
        "evm",
        "--out",
        str(tmp_path / "bad.json"),
        "--import",
        stdin="not a key",
    )
    assert done.returncode == 3
    assert "key: an EVM private key is 64 hex digits" in done.stderr
    assert not (tmp_path / "bad.json").exists()


def test_token_agent_operations_from_a_keystore(devnet: tuple[Path, dict[str, str]]) -> None:
    """The agent mints to bob and freezes him through the CLI; the chain shows both."""
    directory, env = devnet
    state = read_state(directory)
    assert state is not None
    token, bob = state.contracts["TOT (erc3643)"], state.investors["bob"]["evm"]
    agent = str(directory / "keys" / "evm-agent.json")
    chain = ("--rpc", state.evm_url, "--address", token, "--keystore", agent)
    done = _stbridge(env, "token", "mint", *chain, f"to={bob}", "amount=7")
    assert done.returncode == 0, done.stderr
    done = _stbridge(env, "token", "freeze", *chain, f"address={bob}", "frozen=true")
    assert done.returncode == 0, done.stderr
    done = _stbridge(
        env, "asset", "inspect", "--rpc", state.evm_url, "--address", token, "--holders", "--json"
    )
    holding = next(h for h in json.loads(done.stdout)["holdings"] if h["holder"] == bob)
    assert (holding["balance"], holding["frozen"]) == (7, 7)
    done = _stbridge(env, "token", "mint", *chain, f"too={bob}", "amount=7")
    assert done.returncode == 3
    assert "to: is required" in done.stderr


def test_check_refuses_the_same_chain_twice(devnet: tuple[Path, dict[str, str]]) -> None:
    """Two [[chains]] entries on one node would watch one HTLC as two chains: exit 3."""
    directory, env = devnet
    text = (directory / "relayer.toml").read_text()
    evm = text[text.index("[[chains]]") : text.index("[[chains]]", text.index("[[chains]]") + 1)]
    config = directory / "twice.toml"
    config.write_text(text + "\n" + evm.replace('name = "evm"', 'name = "evm-again"'))
    done = _stbridge(env, "relayer", "run", "--check", "--config", str(config))
    assert done.returncode == 3, done.stdout + done.stderr
    assert "FAIL chains.evm-again: the same chain as chains.evm (chain id 31337)" in done.stdout


def embedded_block() -> str:
    """The README's walk through ``devnet up --embedded``, the ibet order and a refund."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- readme-test: embedded.*?-->\s*```sh\n(.*?)```", text, re.DOTALL)
    assert found, "README.md lost its embedded-devnet block"
    return found.group(1)


@pytest.mark.thorough
def test_readme_embedded_devnet_ibet_and_refund(tmp_path: Path) -> None:
    """Invariant: on the py-evm devnet, the README's ibet order completes and the order whose
    buyer never pays is refunded once ``devnet advance`` moves the deadlines past."""
    harness = (
        "set -e\n"
        "trap 'status=$?; set +e; kill $(jobs -p) 2>/dev/null; if [ $status -ne 0 ]; then "
        "stbridge devnet down --dir devnet-py >/dev/null 2>&1; fi; exit $status' EXIT\n"
    )
    done = subprocess.run(
        ["bash", "-c", harness + embedded_block()],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    log = tmp_path / "devnet-py" / "relayer.log"
    detail = done.stdout + done.stderr + (log.read_text() if log.exists() else "")
    assert done.returncode == 0, detail
    lines = done.stdout.splitlines()
    assert "Kyoto Holdings Share" in done.stdout  # asset inspect read the ibet share
    assert "completed" in lines, detail
    assert any(line.startswith("refunded") for line in lines), detail
    assert read_state(tmp_path / "devnet-py") is None
