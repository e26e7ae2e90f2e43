"""``stbridge relayer ...`` (run the daemon, make keys) and ``stbridge swap ...`` (its client).

The client commands talk to a running relayer over HTTP (httpx); the bearer token is read
from the environment variable named by ``--token-env`` (default ``STBRIDGE_API_TOKEN``).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from bridge.errors import ChainUnavailable, ConfigError, InvalidInput, NotFound, PermanentError

if TYPE_CHECKING:
    import httpx

__all__ = ["relayer_app", "swap_app"]

relayer_app = typer.Typer(help="Run the swap relayer and manage its keys.", no_args_is_help=True)
swap_app = typer.Typer(help="Submit and follow swaps on a running relayer.", no_args_is_help=True)

Url = Annotated[
    str,
    typer.Option(
        "--url", envvar="STBRIDGE_URL", help="The relayer's API base URL (or $STBRIDGE_URL)."
    ),
]
TokenEnv = Annotated[
    str, typer.Option("--token-env", help="Environment variable holding the API bearer token.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@relayer_app.command("run")
def run_cmd(
    config: Annotated[Path, typer.Option("--config", help="relayer.toml (see the README).")],
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help=(
                "Validate the configuration, the secrets, the store and every chain (reachable, "
                "chain id, HTLC code, keys unlocked and funded), print one line each, and exit: "
                "0 all good, 3 configuration, 4 a node or the store unreachable."
            ),
        ),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Run the relayer: API + chain watchers + executor, until SIGTERM or Ctrl-C.

    Secrets come from the environment only: STBRIDGE_SECRET_KEY (64 hex digits, seals swap
    secrets at rest), the API token and keystore password variables named in the file.
    """
    from relayer.settings import load_settings

    settings = load_settings(config)
    if not check:
        from relayer.daemon import run

        run(settings)
        return
    from bridge.errors import ConfigError as _Config
    from relayer.daemon import preflight

    findings = preflight(settings)
    if as_json:
        typer.echo(
            json.dumps(
                [{"subject": f.subject, "ok": f.ok, "detail": f.detail} for f in findings],
                indent=2,
            )
        )
    else:
        for f in findings:
            typer.echo(f"{'ok  ' if f.ok else 'FAIL'} {f.subject}: {f.detail}")
    failed = [f for f in findings if not f.ok]
    if failed:
        raise typer.Exit(3 if any(issubclass(f.error, _Config) for f in failed) else 4)
    if not as_json:
        typer.echo(f"{config}: ready to run")


@relayer_app.command("keygen")
def keygen(
    out: Annotated[Path, typer.Option(help="Keystore file to write (mode 0600).")],
    kind: Annotated[str | None, typer.Option(help="evm or algorand")] = None,
    satp: Annotated[
        bool,
        typer.Option(
            "--satp",
            help=(
                "Make the SATP gateway's ES256 key instead (for [satp] keystore); prints its "
                "public JWK, which the peer platform puts in its [satp.peer] public_key."
            ),
        ),
    ] = False,
    password_env: Annotated[
        str, typer.Option(help="Variable holding the keystore password.")
    ] = "STBRIDGE_KEYSTORE_PASSWORD",
    import_key: Annotated[
        bool,
        typer.Option(
            "--import",
            help=(
                "Encrypt an existing key read from stdin (EVM: 64 hex digits; Algorand: the "
                "25-word mnemonic or a base64 private key) instead of making a new one."
            ),
        ),
    ] = False,
) -> None:
    """Create a key (or --import one from stdin) in an encrypted keystore; print its address.

    The key never appears on the command line or in the output.

      stbridge relayer keygen --kind evm --out keys/evm-relayer.json

      stbridge relayer keygen --kind algorand --out keys/algo.json --import < mnemonic.txt

      STBRIDGE_KEYSTORE_PASSWORD=... stbridge relayer keygen --satp --out keys/satp-jp.json
    """
    import sys

    from relayer.keystore import key_from_text, password_from_env, write_keystore

    if satp:
        if kind is not None or import_key:
            raise InvalidInput("--satp", "goes alone: no --kind, no --import")
        if out.exists():
            raise InvalidInput("--out", "file exists; refusing to overwrite a key", value=str(out))
        from relayer.satp.jws import SigningKey
        from relayer.satp.keys import write_satp_keystore

        public = write_satp_keystore(
            out, SigningKey.generate(), password=password_from_env(password_env)
        )
        typer.echo(json.dumps(public.model_dump()))
        return
    if kind not in ("evm", "algorand"):
        raise InvalidInput("--kind", "must be evm or algorand", value=kind)
    if out.exists():
        raise InvalidInput("--out", "file exists; refusing to overwrite a key", value=str(out))
    if not out.parent.exists() and not out.resolve().is_relative_to(Path.cwd().resolve()):
        raise InvalidInput(
            "--out",
            "its directory does not exist and is outside the working directory; create it "
            "first (keystores are not scattered silently)",
            value=str(out),
        )
    kind_lit: Literal["evm", "algorand"] = "evm" if kind == "evm" else "algorand"
    password = password_from_env(password_env)
    if import_key:
        if sys.stdin.isatty():
            typer.echo("paste the key, then Enter and Ctrl-D:", err=True)
        key = key_from_text(kind_lit, sys.stdin.read())
    else:
        key = secrets.token_bytes(32)
    address = write_keystore(out, kind=kind_lit, key=key, password=password)
    typer.echo(address)


@relayer_app.command("ready")
def ready(
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 120.0,
    url: Url = "http://127.0.0.1:8787",
) -> None:
    """Wait until the relayer at --url answers /readyz (for scripts that start it in the
    background); exit 4 if it does not within --timeout."""
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url.rstrip("/") + "/readyz", timeout=2).status_code == 200:
                typer.echo(f"relayer at {url} is ready")
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise ChainUnavailable(f"relayer at {url} not ready after {timeout:.0f} s")


def _client(url: str, token_env: str) -> httpx.Client:
    import httpx

    token = os.environ.get(token_env)
    if not token:
        raise ConfigError(f"{token_env}: not set (the relayer's API bearer token)")
    return httpx.Client(
        base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _call(url: str, token_env: str, method: str, path: str, **kwargs: Any) -> Any:
    import httpx

    try:
        with _client(url, token_env) as client:
            response = client.request(method, path, **kwargs)
    except httpx.TransportError as exc:
        raise ChainUnavailable(f"relayer at {url} is unreachable: {exc}") from exc
    if response.status_code < 400:
        return response.json()
    try:
        body = response.json()  # an RFC 9457 problem: detail, and field/rule for bad input
    except ValueError:
        body = {"detail": response.text}
    detail = str(body.get("detail", response.reason_phrase))
    if response.status_code == 404:
        raise NotFound(detail)
    if response.status_code == 422 and body.get("field"):
        raise InvalidInput(str(body["field"]), str(body.get("rule", detail)))
    if response.status_code in (401, 403):
        raise ConfigError(f"{token_env}: the relayer refused it ({detail})")
    if response.status_code >= 500:
        raise ChainUnavailable(f"relayer answered {response.status_code}: {detail}")
    raise PermanentError(f"relayer answered {response.status_code}: {detail}")


@swap_app.command("submit")
def submit(
    order: Annotated[Path, typer.Argument(help="Swap order JSON (see specs/examples/).")],
    url: Url = "http://127.0.0.1:8787",
    token_env: TokenEnv = "STBRIDGE_API_TOKEN",
    as_json: AsJson = False,
) -> None:
    """Submit a swap order; print the swap id (the same order id again is the same swap)."""
    try:
        body = json.loads(order.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput("ORDER", "no such file", value=str(order)) from None
    except json.JSONDecodeError as exc:
        raise InvalidInput("ORDER", f"not JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(body, dict) and body.get("trade") is None:  # refused before it is sent
        from relayer.orders import TRADE_REQUIRED

        raise InvalidInput("trade", TRADE_REQUIRED)
    view = _call(url, token_env, "POST", "/swaps", json=body)
    typer.echo(json.dumps(view, indent=2) if as_json else view["swap_id"])


@swap_app.command("status")
def status(
    swap_id: Annotated[str, typer.Argument(help="The swap id (0x...).")],
    url: Url = "http://127.0.0.1:8787",
    token_env: TokenEnv = "STBRIDGE_API_TOKEN",
    as_json: AsJson = False,
) -> None:
    """Show one swap: outcome and both legs' progress."""
    view = _call(url, token_env, "GET", f"/swaps/{swap_id}")
    if as_json:
        typer.echo(json.dumps(view, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    if view.get("satp"):  # negotiated with a peer platform: the session is the swap
        from relayer.satp.routes import session_lines

        for line in session_lines(view):
            typer.echo(line)
        return
    table = Table(title=f"swap {swap_id} — {view['outcome']}")
    for col in ("leg", "phase", "lock id", "claim tx", "refund tx"):
        table.add_column(col)
    for leg in ("initiator", "participant"):
        s = view[leg]
        table.add_row(
            leg, s["phase"], s["lock_id"] or "-", s["claim_tx"] or "-", s["refund_tx"] or "-"
        )
    Console().print(table)
    for refusal in view["refusals"]:
        typer.echo(f"refused: {refusal['code']}: {refusal['detail']}")
    if view.get("why") and not view["refusals"]:
        typer.echo(f"why: {view['why']}")
    if view.get("last_error"):
        error = view["last_error"]
        typer.echo(f"retrying (attempt {error.get('attempts')}): {error.get('reason')}")
    if view.get("escrow_shortfall"):
        typer.echo(f"held: {view['escrow_shortfall'].get('detail')}")


@swap_app.command("wait")
def wait(
    swap_id: Annotated[str, typer.Argument(help="The swap id (0x...).")],
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 600.0,
    url: Url = "http://127.0.0.1:8787",
    token_env: TokenEnv = "STBRIDGE_API_TOKEN",
) -> None:
    """Wait until the swap ends; print its outcome (and why, unless completed).

    Exit 0 when it completed, 1 when it ended otherwise, 4 when still open at --timeout.
    """
    import time

    deadline = time.monotonic() + timeout
    while True:
        view = _call(url, token_env, "GET", f"/swaps/{swap_id}")
        if view["outcome"] != "open":
            break
        if time.monotonic() > deadline:
            typer.echo(f"open after {timeout:.0f} s: {view.get('why') or 'in progress'}")
            raise typer.Exit(4)
        time.sleep(0.5)
    typer.echo(view["outcome"] + (f": {view['why']}" if view.get("why") else ""))
    if view["outcome"] != "completed":
        raise typer.Exit(1)


@swap_app.command("list")
def list_cmd(
    outcome: Annotated[str | None, typer.Option(help="open, completed, refunded, ...")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    url: Url = "http://127.0.0.1:8787",
    token_env: TokenEnv = "STBRIDGE_API_TOKEN",
    as_json: AsJson = False,
) -> None:
    """List swap ids, oldest first."""
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if outcome:
        params["outcome"] = outcome
    body = _call(url, token_env, "GET", "/swaps", params=params)
    typer.echo(json.dumps(body, indent=2) if as_json else "\n".join(body["swaps"]))


@swap_app.command("audit")
def audit(
    swap_id: Annotated[str, typer.Argument(help="The swap id (0x...).")],
    url: Url = "http://127.0.0.1:8787",
    token_env: TokenEnv = "STBRIDGE_API_TOKEN",
) -> None:
    """Print a swap's audit record (JSON): decision with citations, every input and effect."""
    typer.echo(json.dumps(_call(url, token_env, "GET", f"/swaps/{swap_id}/audit"), indent=2))
