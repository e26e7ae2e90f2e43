"""``stbridge demo --two-platforms``: a JP and an SG relayer settle over SATP, as processes.

1. ``stbridge devnet up --embedded`` in a temporary directory (py-evm over JSON-RPC, the
   embedded Algorand ledger over algod's REST API, the T-REX Tokyo Office Trust token, a USD
   stablecoin ASA);
2. two platforms written from it (:mod:`relayer.satp.platforms`): JP holds the seller
   alice's keys, SG the buyer bob's; each runs ``stbridge relayer run`` with its own store,
   SATP key and passwords;
3. act 1: alice sells 250 TOT to bob for USD 250,000 through SATP; the SG relayer is killed
   (SIGKILL) mid-protocol and restarted, and the trade still settles; each side shows its
   own decision and the other's signed one;
4. act 2: the same trade again, and the JP relayer becomes unreachable once SG has locked
   the cash: past the cash deadline SG refunds bob by its own deadline alone; JP, back,
   refunds alice's units past the security's deadline: both sides refunded.

Every step printed is read from the relayers' APIs and the chains; nothing is scripted.

Waiting is on progress, not on wall-clock constants: a relayer's start waits while its
process lives (it fails at once if the process exits); following a swap waits until the
wanted state, fails at once if a relayer process that should run has died, and otherwise
allows the swap until its own last deadline on the chains (plus :data:`GRACE_S`), which
is as long as the relayers themselves may take. A loaded machine is slower, not wrong.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from relayer.satp.platforms import Platform, write_platforms

__all__ = ["run_two_platforms"]

ORDER = "trex-jp-to-sg-for-usd-on-algorand"
_STBRIDGE = (sys.executable, "-m", "bridge.cli")

GRACE_S = 900
"""What a wait allows beyond the swap's own last deadline (or for a relayer to start):
generous, for a heavily loaded machine; a stuck demo still ends."""


def _cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        env={**os.environ, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(f"stbridge {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    return done.stdout


class _Relayer:
    """One platform's ``stbridge relayer run`` process."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.platform.directory / "relayer.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [*_STBRIDGE, "relayer", "run", "--config", str(self.platform.config)],
                env={**os.environ, **self.platform.env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + GRACE_S
        while time.monotonic() < deadline:
            self.alive_or_raise()
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.platform.api_url + "/readyz", timeout=10).status_code == 200:
                    return
            time.sleep(0.5)
        raise RuntimeError(f"the {self.platform.name} relayer did not start in {GRACE_S} s")

    def alive_or_raise(self) -> None:
        """Raise at once if this relayer's process, started and not stopped, has exited."""
        if self.proc is not None and self.proc.poll() is not None:
            code = self.proc.returncode
            self.proc = None
            raise RuntimeError(f"the {self.platform.name} relayer exited (status {code})")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=GRACE_S)
            except subprocess.TimeoutExpired:  # it would not stop: the demo is over anyway
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def call(self, method: str, path: str, *, client: str | None = None, **kw: Any) -> Any:
        env = self.platform.env
        token = env[self.platform.client_token_env(client)] if client else None
        token = token or env["STBRIDGE_API_TOKEN"]
        return httpx.request(
            method,
            self.platform.api_url + path,
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,  # a loaded machine answers late, not wrongly
            **kw,
        )

    def view(self, swap_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.call("GET", f"/swaps/{swap_id}").json()
        return body


def _evm_now(evm_url: str) -> int:
    """The EVM chain's latest block timestamp (its time for deadlines), over JSON-RPC."""
    answer = httpx.post(
        evm_url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_getBlockByNumber",
            "params": ["latest", False],
        },
        timeout=30,
    ).json()
    return int(answer["result"]["timestamp"], 16)


def _patience(legs: dict[str, Any] | None, evm_url: str) -> float:
    """Seconds to allow a swap: until its security's deadline on the chain (the last one;
    the devnet's EVM time follows the wall clock), plus :data:`GRACE_S`."""
    if not legs:
        return GRACE_S
    left = int(legs["initiator_deadline"]) - _evm_now(evm_url)
    return max(0, left) + GRACE_S


def _advance(control: str, *, seconds: int, rounds: int = 1) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.post(
        control + "/advance", json={"seconds": seconds, "rounds": rounds}, timeout=300
    ).json()
    return answer


def run_two_platforms(say: Callable[[str], None] = print) -> dict[str, Any]:
    """Run both acts; return a summary (outcomes on each side, by act)."""
    with tempfile.TemporaryDirectory(prefix="stbridge-two-platforms-") as tmp:
        return _run(Path(tmp), say)


def _run(root: Path, say: Callable[[str], None]) -> dict[str, Any]:
    say("starting a devnet: py-evm over JSON-RPC + the embedded Algorand ledger (a minute)")
    state = json.loads(_cli("devnet", "up", "--embedded", "--json", cwd=root))
    relayers: dict[str, _Relayer] = {}
    summary: dict[str, Any] = {}
    try:
        platforms = write_platforms(root / "devnet", root / "platforms")
        for name, platform in platforms.items():
            say(
                f"{name.upper()} platform: its own relayer, store and SATP key "
                f"{platform.public_key.kid[:12]}…; keys: "
                + ", ".join(p.stem for p in platform.keystores if p.stem != "satp-key")
            )
            relayers[name] = _Relayer(platform)
            relayers[name].start()
        jp, sg = relayers["jp"], relayers["sg"]
        order = json.loads((root / state["orders"][ORDER]).read_text(encoding="utf-8"))
        summary["act1"] = _act_one(jp, sg, order, state, say)
        order2 = {**order, "order_id": order["order_id"] + "-act2", "settlement_window_s": 900}
        summary["act2"] = _act_two(jp, sg, order2, state, say)
    except Exception:
        for name, relayer in relayers.items():  # what each relayer said, to see why
            lines = (relayer.platform.directory / "relayer.log").read_text().splitlines()
            kept = [line for line in lines if "httpx" not in line and "uvicorn" not in line]
            say(f"--- the {name.upper()} relayer's last log lines:")
            for line in kept[-12:]:
                say(line[:400])
        raise
    finally:
        for relayer in relayers.values():
            relayer.stop()
        with contextlib.suppress(RuntimeError):
            _cli("devnet", "down", cwd=root)
    return summary


def _submit(jp: _Relayer, sg: _Relayer, order: dict[str, Any], say: Callable[[str], None]) -> str:
    started = jp.call(
        "POST", "/satp/v1/trades", client="alice", json={"side": "initiator", "order": order}
    )
    if started.status_code != 201:
        raise RuntimeError(f"JP refused the order: {started.text}")
    swap_id: str = started.json()["swap_id"]
    say(f"alice's order at JP: swap {swap_id[:18]}…; JP proposes it to SG over SATP")
    # SG keeps bob's order whether or not JP's proposal has arrived yet: no polling
    answered = sg.call(
        "POST", "/satp/v1/trades", client="bob", json={"side": "responder", "order": order}
    )
    if answered.status_code != 201:
        raise RuntimeError(f"SG refused bob's order: {answered.text}")
    say("bob's order at SG: SG's own compliance decides on it once JP's proposal is there")
    return swap_id


def _follow(
    relayers: dict[str, _Relayer],
    swap_id: str,
    say: Callable[[str], None],
    *,
    until: Callable[[dict[str, dict[str, Any]]], bool],
    evm_url: str,
) -> dict[str, dict[str, Any]]:
    """Print each side's phase as it changes until ``until(views)``; return the views.

    Fails at once if a followed relayer's process died; otherwise allows the swap until its
    own last deadline plus :data:`GRACE_S` (re-read as the swap's legs become known)."""
    seen: dict[str, str] = {}
    views: dict[str, dict[str, Any]] = {}
    started = time.monotonic()
    allowed = float(GRACE_S)
    while time.monotonic() - started < allowed:
        for name, relayer in relayers.items():
            relayer.alive_or_raise()
            if relayer.proc is None:
                continue
            with contextlib.suppress(httpx.TransportError):
                views[name] = relayer.view(swap_id)
                phase = views[name].get("satp", {}).get("phase", "?")
                if seen.get(name) != phase:
                    seen[name] = phase
                    say(f"  {name.upper()}: {phase}")
                    legs = views[name].get("satp", {}).get("legs")
                    allowed = max(allowed, time.monotonic() - started + _patience(legs, evm_url))
        if until(views):
            return views
        time.sleep(0.25)
    raise RuntimeError(f"swap {swap_id} did not get there by its deadlines (+{GRACE_S} s): {seen}")


def _decisions(views: dict[str, dict[str, Any]], say: Callable[[str], None]) -> None:
    for name, view in views.items():
        own, peer = view["satp"]["ownDecision"], view["satp"]["peerDecision"]
        mine = ", ".join(own["jurisdictions"]) if own else "-"
        theirs = ", ".join(peer["jurisdictions"]) if peer else "-"
        say(
            f"{name.upper()} audit: own decision allowed={own and own['allowed']} ({mine}); "
            f"the peer's signed decision allowed={peer and peer['allowed']} ({theirs})"
        )


def _done(views: dict[str, dict[str, Any]]) -> bool:
    return len(views) == 2 and all(v.get("outcome") != "open" for v in views.values())


def _act_one(
    jp: _Relayer,
    sg: _Relayer,
    order: dict[str, Any],
    state: dict[str, Any],
    say: Callable[[str], None],
) -> dict[str, str]:
    say("\nAct 1: alice (JP) sells 250 Tokyo Office Trust units to bob (SG) for USD 250,000")
    evm_url = str(state["evm_url"])
    swap_id = _submit(jp, sg, order, say)
    both = {"jp": jp, "sg": sg}
    _follow(
        both,
        swap_id,
        say,
        until=lambda v: v.get("jp", {}).get("satp", {}).get("ownLock") == "locked",
        evm_url=evm_url,
    )
    say("JP locked alice's units; killing the SG relayer (SIGKILL) mid-protocol")
    sg.kill()  # returns once the process is gone
    say("restarting the SG relayer: it resumes from its store")
    sg.start()
    views = _follow(both, swap_id, say, until=_done, evm_url=evm_url)
    _decisions(views, say)
    outcomes = {name: str(view["outcome"]) for name, view in views.items()}
    say(f"act 1: JP {outcomes['jp']}, SG {outcomes['sg']}")
    return outcomes


def _act_two(
    jp: _Relayer,
    sg: _Relayer,
    order: dict[str, Any],
    state: dict[str, Any],
    say: Callable[[str], None],
) -> dict[str, str]:
    say("\nAct 2: the same trade again; the JP relayer becomes unreachable after SG's lock")
    control = state.get("control_url") or ""
    evm_url = str(state["evm_url"])
    swap_id = _submit(jp, sg, order, say)
    both = {"jp": jp, "sg": sg}
    views = _follow(
        both,
        swap_id,
        say,
        until=lambda v: v.get("sg", {}).get("satp", {}).get("ownLock") == "locked",
        evm_url=evm_url,
    )
    jp.kill()
    say("SG locked bob's cash; the JP relayer is now unreachable (killed before its claim)")
    legs = views["sg"]["satp"]["legs"]
    now = _advance(control, seconds=0)
    rounds = int(legs["participant_deadline"]) - int(now["algorand"]["round"]) + 2
    say(f"time passes past the cash deadline ({max(rounds, 1)} Algorand rounds)")
    _advance(control, seconds=5, rounds=max(rounds, 1))
    _follow(
        {"sg": sg},
        swap_id,
        say,
        until=lambda v: v.get("sg", {}).get("outcome") != "open",
        evm_url=evm_url,
    )
    say("SG refunded bob's cash by its own deadline alone; JP comes back")
    jp.start()
    seconds = int(legs["initiator_deadline"]) - int(now["evm"]["timestamp"]) + 30
    say(f"time passes past the security's deadline ({max(seconds, 1)} s)")
    _advance(control, seconds=max(seconds, 1))
    views = _follow(both, swap_id, say, until=_done, evm_url=evm_url)
    outcomes = {name: str(view["outcome"]) for name, view in views.items()}
    say(f"act 2: JP {outcomes['jp']}, SG {outcomes['sg']}")
    return outcomes
