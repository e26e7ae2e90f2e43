"""``stbridge bench holders``: read every holder of a T-REX, ERC-20 and ERC-1400 token on anvil.

For each standard the bench starts a fresh anvil (the binary from ``node_modules``), deploys
the token, gives it ``size`` holders, and times the adapter's own holder scan
(``adapter.holders(ref, from_height=deployment block)``): holder discovery from the token's
events, then every holder's balance (and frozen units, freeze flag, partitions, whitelist
and lock-up, as the standard has them) read through JSON-RPC batches at one block. The RPC
requests the scan makes are counted by the client (a batch is one request).

The holders are made in bulk so the set-up is quick: a :file:`BatchCaller` contract (our
contracts build, ``src/test``) holds the token's issuing role and makes a few hundred calls
per transaction. T-REX holders are wallets registered in the identity registry to one
ONCHAINID identity with a KYC claim from the suite's trusted issuer (T-REX allows one
identity for several wallets); ERC-1400 holders are whitelisted and hold two partitions.

Nothing here is asserted as a timing anywhere: the numbers are printed, with the conditions
they were measured under.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from rich.console import Console
from rich.table import Table

__all__ = ["STANDARDS", "describe_conditions", "plot_holders", "run_holders_bench"]

STANDARDS: Final = ("erc3643", "erc20", "erc1400")
"""The standards the bench reads, in the order it runs them."""

_TARGET_SECONDS: Final = 10.0
_TARGET_REQUESTS_PER_HOLDER: Final = 0.05
_PARTITIONS: Final = ("unrestricted", "locked")
_BATCH_GAS: Final = 29_000_000  # under anvil's 30M block gas limit

Progress = Callable[[str], None]


def _holder_addresses(size: int, salt: str) -> list[str]:
    from adapters.evm.batch import checksum_topic

    return [
        checksum_topic(hashlib.sha256(f"{salt}-{i}".encode()).digest()[-20:]) for i in range(size)
    ]


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class _Setup:
    """Deploys one token with ``size`` holders on one anvil, through a BatchCaller."""

    def __init__(self, client: Any, say: Progress) -> None:
        from adapters.evm.contracts import load_artifact
        from adapters.evm.signer import EvmSigner

        self.client = client
        self.say = say
        self.owner = EvmSigner.generate()
        client.fund(self.owner.address, 10**21)
        art = load_artifact("BatchCaller")
        self.batcher = str(
            client.deploy(self.owner, art.abi, art.bytecode, self.owner.address).address
        )

    def execute(self, target: str, calls: Sequence[bytes], per_tx: int, what: str) -> None:
        """Send ``calls`` to ``target`` from the BatchCaller, ``per_tx`` per transaction."""
        from eth_abi.abi import encode

        from adapters.evm.batch import selector

        prefix = selector("execute(address,bytes[])")
        chunks = _chunks(calls, per_tx)
        for n, chunk in enumerate(chunks, 1):
            data = prefix + encode(["address", "bytes[]"], [target, list(chunk)])
            # explicit gas: no estimate (it would run the whole batch twice); a batch that
            # fails is mined with status 0 and raises
            self.client.transact(self.owner, self.batcher, data, gas=_BATCH_GAS)
            if n == len(chunks) or n % 10 == 0:
                self.say(f"  {what}: {n}/{len(chunks)} transactions")

    def send(self, target: str, signature: str, *args: Any) -> None:
        """One call from the owner."""
        from eth_abi.abi import encode

        from adapters.evm.batch import ViewCall

        call = ViewCall(signature)
        data = call.prefix + encode(list(call.arg_types), list(args))
        self.client.transact(self.owner, target, data)


def _setup_erc20(client: Any, size: int, say: Progress) -> tuple[str, int]:
    from web3 import Web3

    from adapters.evm.batch import ViewCall
    from adapters.evm.erc20 import deploy_cash_token

    setup = _Setup(client, say)
    start = client.head()
    token = deploy_cash_token(
        client, setup.owner, name="Bench Coin", symbol="BNCH", decimals=6, currency="USD"
    )
    role = Web3.keccak(text="ISSUER_ROLE")
    setup.send(token, "grantRole(bytes32,address)", role, setup.batcher)
    mint = ViewCall("mint(address,uint256)")
    holders = _holder_addresses(size, "erc20")
    setup.execute(token, [mint.encode(h, 1_000 + i) for i, h in enumerate(holders)], 400, "mint")
    return token, start


def _setup_erc1400(client: Any, size: int, say: Progress) -> tuple[str, int]:
    from eth_abi.abi import encode

    from adapters.evm.batch import ViewCall, selector
    from adapters.evm.erc1400 import deploy_security_token, partition_id

    setup = _Setup(client, say)
    start = client.head()
    token = deploy_security_token(client, setup.owner, name="Bench Share", symbol="BSHR")
    setup.send(token, "transferOwnership(address)", setup.batcher)
    listed = ViewCall("setWhitelisted(address,bool)")
    issue = selector("issueByPartition(bytes32,address,uint256,bytes)")
    partitions = [bytes.fromhex(partition_id(p)[2:]) for p in _PARTITIONS]
    calls: list[bytes] = []
    for i, holder in enumerate(_holder_addresses(size, "erc1400")):
        calls.append(listed.encode(holder, True))
        for k, partition in enumerate(partitions):
            amount = 100 + i + k
            calls.append(
                issue
                + encode(
                    ["bytes32", "address", "uint256", "bytes"], [partition, holder, amount, b""]
                )
            )
    setup.execute(token, calls, 300, "whitelist and issue")
    return token, start


def _setup_erc3643(client: Any, size: int, say: Progress) -> tuple[str, int]:
    from adapters.evm.batch import ViewCall
    from adapters.evm.trex_deploy import InvestorSpec, TrexDeployer
    from bridge.types import alpha2_to_numeric

    setup = _Setup(client, say)
    deployer = TrexDeployer(client, setup.owner)
    deployer.infrastructure()
    start = client.head()
    suite = deployer.deploy_suite(name="Bench Trust", symbol="BTR", decimals=0)
    investor = deployer.add_investor(suite, InvestorSpec("treasury", "JP"))
    identity = investor.identity
    if identity is None:  # pragma: no cover - add_investor always creates one here
        raise RuntimeError("the bench investor has no identity")
    setup.send(suite.token, "addAgent(address)", setup.batcher)
    setup.send(suite.identity_registry, "addAgent(address)", setup.batcher)
    register = ViewCall("registerIdentity(address,address,uint16)")
    mint = ViewCall("mint(address,uint256)")
    holders = _holder_addresses(size, "erc3643")
    country = alpha2_to_numeric("JP")
    setup.execute(
        suite.identity_registry,
        [register.encode(h, identity, country) for h in holders],
        200,
        "register identities",
    )
    setup.execute(suite.token, [mint.encode(h, 10 + i) for i, h in enumerate(holders)], 150, "mint")
    return suite.token, start


_SETUPS: Final[dict[str, Callable[[Any, int, Progress], tuple[str, int]]]] = {
    "erc3643": _setup_erc3643,
    "erc20": _setup_erc20,
    "erc1400": _setup_erc1400,
}


def _adapter(standard: str, client: Any) -> Any:
    if standard == "erc3643":
        from adapters.evm.erc3643 import Erc3643Adapter

        return Erc3643Adapter(client)
    if standard == "erc20":
        from adapters.evm.erc20 import Erc20Adapter

        return Erc20Adapter(client)
    from adapters.evm.erc1400 import Erc1400Adapter

    return Erc1400Adapter(client)


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds the process ``pid`` has used (Linux ``/proc``; else None)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    return (int(fields[11]) + int(fields[12])) / ticks


def anvil_version() -> str:
    """``anvil --version``'s first line (``unknown`` if it cannot be run)."""
    from relayer.interop.anvil import anvil_binary

    try:
        done = subprocess.run(
            [str(anvil_binary()), "--version"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else "unknown"


def describe_conditions(size: int, from_block: bool) -> dict[str, Any]:
    """The conditions the numbers are measured under (printed with them)."""
    from adapters.evm.batch import DEFAULT_BATCH_SIZE

    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "backend": "anvil",
        "anvil": anvil_version(),
        "holders": size,
        "cores": os.cpu_count(),
        "load_average_1m": round(load[0], 2),
        "python": platform.python_version(),
        "rpc_batch_size": DEFAULT_BATCH_SIZE,
        "log_scan_from": "deployment block" if from_block else "block 0",
        "targets": {
            "seconds": _TARGET_SECONDS,
            "requests_per_holder": _TARGET_REQUESTS_PER_HOLDER,
        },
    }


def run_holders_bench(
    size: int,
    standards: Sequence[str],
    console: Console,
    *,
    from_block: bool = True,
) -> dict[str, Any]:
    """Measure one holder scan of ``size`` holders per standard; return the numbers."""
    from adapters.evm.client import EvmClient
    from relayer.interop.anvil import start_anvil, stop_process

    conditions = describe_conditions(size, from_block)
    console.print(
        f"bench holders: {size} holders per token on anvil ({conditions['anvil']}), "
        f"{conditions['cores']} cores, load {conditions['load_average_1m']}, "
        f"eth_call batches of {conditions['rpc_batch_size']}, log scan from the "
        f"{conditions['log_scan_from']}"
    )
    rows: list[dict[str, Any]] = []
    for standard in standards:
        proc, url = start_anvil()
        try:
            client = EvmClient.connect(url, timeout=120.0)
            console.print(f"{standard}: deploying and making {size} holders...")
            began = time.perf_counter()
            token, deployed_at = _SETUPS[standard](client, size, console.print)
            setup_s = time.perf_counter() - began
            adapter = _adapter(standard, client)
            ref = adapter.ref(token)
            scan_from = deployed_at if from_block else 0
            console.print(
                f"{standard}: reading every holder "
                f"(events in blocks {scan_from}..{client.head()})..."
            )
            requests_before = client.stats.requests
            calls_before = client.stats.calls
            node_cpu_started = process_cpu_seconds(proc.pid)
            started = time.perf_counter()
            cpu_started = time.process_time()
            holdings = list(adapter.holders(ref, from_height=scan_from))
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            node_cpu_ended = process_cpu_seconds(proc.pid)
            node_cpu = (
                None
                if node_cpu_started is None or node_cpu_ended is None
                else round(node_cpu_ended - node_cpu_started, 3)
            )
            requests = client.stats.requests - requests_before
            row = {
                "standard": standard,
                "holders": len(holdings),
                "seconds": round(seconds, 3),
                "cpu_seconds": round(cpu, 3),
                "node_cpu_seconds": node_cpu,
                "rpc_requests": requests,
                "rpc_calls": client.stats.calls - calls_before,
                "requests_per_holder": round(requests / max(len(holdings), 1), 4),
                "holders_per_second": round(len(holdings) / seconds, 1) if seconds else None,
                "setup_seconds": round(setup_s, 1),
                "within_target": seconds <= _TARGET_SECONDS
                and requests / max(len(holdings), 1) <= _TARGET_REQUESTS_PER_HOLDER,
            }
            if len(holdings) != size:
                row["error"] = f"expected {size} holders, read {len(holdings)}"
            rows.append(row)
            console.print(
                f"{standard}: {len(holdings)} holders in {seconds:.2f} s, {requests} RPC "
                f"requests ({row['requests_per_holder']} per holder)"
            )
        finally:
            stop_process(proc)
    return {"conditions": conditions, "results": rows}


def holders_table(numbers: dict[str, Any]) -> Table:
    """The results as a rich table."""
    table = Table(
        "standard",
        "holders",
        "seconds",
        "CPU s",
        "anvil CPU s",
        "RPC requests",
        "per holder",
        "holders/s",
        "set-up s",
        "within target",
        title=(
            f"holder scans on anvil ({numbers['conditions']['holders']} holders, "
            f"targets: <= {_TARGET_SECONDS:.0f} s and <= {_TARGET_REQUESTS_PER_HOLDER} "
            "requests per holder)"
        ),
    )
    for row in numbers["results"]:
        table.add_row(
            row["standard"],
            str(row["holders"]),
            f"{row['seconds']:.2f}",
            f"{row['cpu_seconds']:.2f}",
            "?" if row["node_cpu_seconds"] is None else f"{row['node_cpu_seconds']:.2f}",
            str(row["rpc_requests"]),
            f"{row['requests_per_holder']:.4f}",
            f"{row['holders_per_second'] or 0:.0f}",
            f"{row['setup_seconds']:.1f}",
            "yes" if row["within_target"] else "NO",
        )
    return table


def plot_holders(numbers: dict[str, Any], path: str) -> None:
    """Draw seconds and RPC requests per holder for each standard into ``path`` (PNG)."""
    from relayer.bench_plot import pyplot

    plt = pyplot()
    rows = numbers["results"]
    names = [r["standard"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    where = list(range(len(rows)))
    left.bar([x - 0.2 for x in where], [r["seconds"] for r in rows], 0.4, label="wall clock")
    left.bar(
        [x + 0.2 for x in where],
        [r["cpu_seconds"] + (r["node_cpu_seconds"] or 0.0) for r in rows],
        0.4,
        label="CPU: stbridge + anvil",
    )
    left.set_xticks(where, names)
    left.axhline(_TARGET_SECONDS, color="#b5524a", linestyle="--", label="target")
    left.set_ylabel("seconds to read every holder")
    left.legend()
    right.bar(names, [r["requests_per_holder"] for r in rows], color="#6a9f58")
    right.axhline(_TARGET_REQUESTS_PER_HOLDER, color="#b5524a", linestyle="--", label="target")
    right.set_ylabel("RPC requests per holder")
    right.legend()
    c = numbers["conditions"]
    fig.suptitle(
        f"stbridge bench holders: {c['holders']} holders, {c['backend']} ({c['anvil']}), "
        f"{c['cores']} cores, load {c['load_average_1m']}, batches of {c['rpc_batch_size']}, "
        f"logs from the {c['log_scan_from']}",
        fontsize=8,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
