"""``stbridge move``: move an ibet security to its regulated-ASA mirror on Algorand and back.

The pair is described in a TOML file (``--pair``)::

    store = "moves.db"                      # SQLite file, or a postgresql:// DSN
    [home]
    rpc = "http://127.0.0.1:8545"
    token = "0xSHARE..."
    standard = "ibet-share"                 # or ibet-bond
    keystore = "keys/issuer.json"           # the issuer: lock address, unlocks, write-backs
    finality = 2                            # blocks a lock must be deep (default: the chain's)
    [mirror]
    algod = "http://127.0.0.1:4001"
    asset_id = 1234                         # the regulated ASA (its app is found from it)
    keystore = "keys/algo-admin.json"       # the compliance application's admin

Keystore passwords are read from ``--password-env`` (both keystores share it); algod's
token from ``STBRIDGE_ALGOD_TOKEN``.

Examples::

    stbridge move plan --pair pair.toml --direction out --holder 0xALICE \\
        --receiver ALGOACCOUNT... --amount 300 --move-id m1 --trade m1-trade.json
    stbridge move run --pair pair.toml            # every open move, then the write-back
    stbridge move status --pair pair.toml --move-id m1 --json
    stbridge move link --pair pair.toml --mirror-account ALGO... --home-account 0xCAROL

Exit codes: 0 done; 1 refused or failed; 3 bad input (the message names the field).
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bridge.errors import ConfigError, InvalidInput

if TYPE_CHECKING:
    from relayer.move import MoveExecutor

__all__ = ["PairConfig", "app", "load_pair"]

app = typer.Typer(
    help="Move an ibet security to its regulated-ASA mirror on Algorand and back "
    "(lock-and-mint, every transaction journalled before it is sent, the ibet register "
    "authoritative: mirror transfers are written back to it).\n\n"
    "The pair file (--pair, TOML): store = SQLite path or postgresql:// DSN; "
    "[home] rpc, token, standard (ibet-share | ibet-bond), keystore (the issuer: the lock "
    "address), finality; [mirror] algod, asset_id, keystore (the compliance app's admin), "
    "finality. Keystore passwords come from --password-env, algod's token from "
    "STBRIDGE_ALGOD_TOKEN.\n\n"
    "Example: stbridge move plan --pair pair.toml --direction out --holder 0xALICE "
    "--receiver ALGO... --amount 300 --move-id m1; then stbridge move run --pair pair.toml",
    no_args_is_help=True,
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HomeConfig(_Frozen):
    """The home chain and token."""

    rpc: str = Field(min_length=1)
    token: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    standard: Literal["ibet-share", "ibet-bond"] = "ibet-share"
    keystore: Path
    finality: int | None = Field(default=None, ge=0)


class MirrorConfig(_Frozen):
    """The mirror ASA on Algorand."""

    algod: str = Field(min_length=1)
    asset_id: int = Field(ge=1)
    keystore: Path
    finality: int | None = Field(default=None, ge=0)


class PairConfig(_Frozen):
    """A ``--pair`` file."""

    store: str = Field(min_length=1)
    home: HomeConfig
    mirror: MirrorConfig


def load_pair(path: Path) -> PairConfig:
    """Read and validate a pair file; ``ConfigError`` naming the field."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput("--pair", f"cannot read the pair file: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput("--pair", f"not TOML: {exc}") from None
    try:
        return PairConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: {where}: {first['msg']}") from None


def executor(pair_file: Path, password_env: str) -> MoveExecutor:
    """The executor for the pair file's chains, keys and store."""
    from algosdk.v2client.algod import AlgodClient

    from adapters.algorand.chain import AlgodChain
    from adapters.algorand.regulated import RegulatedAsaAdapter
    from adapters.evm.client import EvmClient
    from adapters.evm.ibet import IbetBondAdapter, IbetShareAdapter
    from relayer.keystore import load_signer, password_from_env
    from relayer.move import AsaMirror, IbetHome, MoveExecutor, MovePair
    from relayer.store import open_store

    config = load_pair(pair_file)
    base = pair_file.parent
    password = password_from_env(password_env)
    client = EvmClient.connect(config.home.rpc)
    adapter = (IbetShareAdapter if config.home.standard == "ibet-share" else IbetBondAdapter)(
        client
    )
    home = IbetHome(
        client,
        adapter,
        client.checked_address(config.home.token, field_name="home.token"),
        load_signer(base / config.home.keystore, password),
        finality=config.home.finality,
    )
    chain = AlgodChain(AlgodClient(os.environ.get("STBRIDGE_ALGOD_TOKEN", ""), config.mirror.algod))
    regulated = RegulatedAsaAdapter(chain)
    app_id = regulated.app_id_of(config.mirror.asset_id)
    mirror = AsaMirror(
        chain,
        regulated,
        regulated.ref(config.mirror.asset_id, app_id),
        load_signer(base / config.mirror.keystore, password),
        finality=config.mirror.finality,
    )
    store = config.store
    if not store.startswith(("postgresql://", "postgres://")):
        store = str(base / store)
    from bridge.compliance import default_engine

    # every move is judged by the compliance engine (its --trade) before anything is locked
    return MoveExecutor(
        open_store(store), MovePair(home, mirror), compliance=default_engine().evaluate
    )


PairOption = Annotated[
    Path, typer.Option("--pair", help="The pair file (TOML; see stbridge move --help).")
]
PasswordOption = Annotated[str, typer.Option(help="Variable holding the keystores' password.")]
PASSWORD_VARIABLE = "STBRIDGE_KEYSTORE_PASSWORD"  # noqa: S105 - a variable name
"""The default variable holding the keystores' password (its name, not a password)."""
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _print(data: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    if "steps" in data:
        typer.echo(
            f"{data['move_id']}: {data['direction']} {data['amount']} "
            f"{data['holder']} -> {data['receiver']}: {data['stage']}"
        )
        if data.get("reason"):
            typer.echo(f"  reason: {data['reason']}")
        for s in data["steps"]:
            typer.echo(
                f"  {s['kind']} #{s['attempt']} {s['status']} {s['tx_id']} "
                f"at {s['height'] if s['height'] is not None else '-'}"
            )
        return
    for key, value in data.items():
        typer.echo(f"{key}: {value}")


@app.command()
def plan(
    pair: PairOption,
    direction: Annotated[str, typer.Option(help="out (ibet -> mirror) or back (mirror -> ibet).")],
    holder: Annotated[
        str, typer.Option(help="Who gives the units (ibet account out, Algorand account back).")
    ],
    receiver: Annotated[str, typer.Option(help="Who gets them on the other side.")],
    amount: Annotated[int, typer.Option(help="Base units of the side the units leave.")],
    move_id: Annotated[
        str | None, typer.Option(help="Idempotency key (default: a random id).")
    ] = None,
    home_account: Annotated[
        str | None,
        typer.Option(
            help="Move out: the register account the mirror units stand for (default: the holder)."
        ),
    ] = None,
    trade: Annotated[
        Path | None,
        typer.Option(
            help="The move as a trade for the compliance engine (JSON: the holder as seller, "
            "the receiving investor as buyer with residence, class and KYC; quantity = "
            "--amount). Required: the receiver is judged under its jurisdiction's law."
        ),
    ] = None,
    password_env: PasswordOption = PASSWORD_VARIABLE,
    as_json: JsonOption = False,
) -> None:
    """Check a move and journal it (nothing is sent): refused (exit 1) when the amount is
    not movable, the receiver is not eligible on the receiving side, the compliance engine
    refuses the receiving investor (--trade), or the quantity cannot be held exactly on
    the other side."""
    import secrets

    from bridge.translate.move import MoveRequest
    from bridge.validation import invalid_input

    if direction not in ("out", "back"):
        raise InvalidInput("--direction", "out or back", value=direction)
    facts: Any = None
    if trade is not None:
        try:
            facts = json.loads(trade.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInput("--trade", f"a readable JSON trade: {exc}") from None
    try:
        request = MoveRequest(
            move_id=move_id or f"move-{secrets.token_hex(8)}",
            direction=direction,
            holder=holder,
            receiver=receiver,
            amount=amount,
            trade=facts,
        )
    except ValidationError as exc:
        raise invalid_input(exc) from None
    row = executor(pair, password_env).plan(request, home_account=home_account)
    _print(row.view(), as_json)


@app.command()
def run(
    pair: PairOption,
    move_id: Annotated[
        str | None, typer.Option(help="Only this move (default: every open move).")
    ] = None,
    password_env: PasswordOption = PASSWORD_VARIABLE,
    as_json: JsonOption = False,
) -> None:
    """Drive the pair's open moves as far as the chains allow now (lock, wait for finality,
    mint; burn, wait, release), then write mirror transfers back to the ibet register.
    Safe to repeat and to interrupt: every transaction is journalled before it is sent."""
    ex = executor(pair, password_env)
    rows = [ex.run(move_id)] if move_id else ex.run_all()
    ex.write_back()
    out = {"moves": [ex.status(r.move_id) for r in rows], "pair": ex.summary()}
    if as_json:
        _print(out, True)
        return
    for item in out["moves"]:
        _print(item, False)
    _print(out["pair"], False)


@app.command()
def status(
    pair: PairOption,
    move_id: Annotated[
        str | None, typer.Option(help="One move (default: the pair's summary).")
    ] = None,
    password_env: PasswordOption = PASSWORD_VARIABLE,
    as_json: JsonOption = False,
) -> None:
    """One move with every journalled transaction, or the pair: moves by stage, what is
    locked, the mirror's supply, whether the ibet register follows the mirror's holders."""
    ex = executor(pair, password_env)
    data = (
        ex.status(move_id) if move_id else {**ex.summary(), "moves": [m.view() for m in ex.moves()]}
    )
    _print(data, as_json)


@app.command()
def link(
    pair: PairOption,
    mirror_account: Annotated[str, typer.Option(help="The Algorand account.")],
    home_account: Annotated[str, typer.Option(help="The ibet account it stands for.")],
    password_env: PasswordOption = PASSWORD_VARIABLE,
) -> None:
    """Link a mirror account to the ibet account it stands for on the register (a mirror
    account that received units by transfer needs one before they are written back)."""
    executor(pair, password_env).link(mirror_account, home_account)
    typer.echo(f"linked {mirror_account} -> {home_account}")
