"""``stbridge token ...``: deploy a token and run its agent operations from a keystore.

For testers and operators setting up a world without writing web3 scripts. Every operation
goes through the adapter registered for the standard (``stbridge.adapters`` entry points),
so a third-party standard gets these commands too. Keys come from an encrypted keystore
(``stbridge relayer keygen``, or the ones ``stbridge devnet up`` writes), its password from
the variable ``--password-env`` names.

Examples (on a devnet, after ``. devnet/devnet.env``)::

    stbridge token mint --rpc http://127.0.0.1:PORT --standard erc3643 --address 0xTOT \\
        --keystore devnet/keys/evm-agent.json to=0xBOB amount=10
    stbridge token freeze --rpc ... --standard erc3643 --address 0xTOT \\
        --keystore devnet/keys/evm-agent.json address=0xBOB frozen=true
    stbridge token op partial_freeze --rpc ... address=0xBOB amount=5
    stbridge token deploy --rpc ... --kind cash --name "Euro Coin" --symbol EURX \\
        --decimals 2 --currency EUR --keystore devnet/keys/evm-issuer.json

Parameters are ``name=value``: integers are base units, ``true``/``false`` are flags,
anything else is text (addresses, partitions). The parameter names are the adapter's (see
its module docstring); a wrong or missing one is refused naming it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from bridge.errors import InvalidInput

__all__ = ["app", "parse_params"]

app = typer.Typer(
    help="Agent operations on a token: mint, burn, freeze, pause, whitelist, ...",
    no_args_is_help=True,
)

Rpc = Annotated[str | None, typer.Option(help="EVM JSON-RPC URL.")]
Algod = Annotated[str | None, typer.Option(help="algod URL (Algorand).")]
Address = Annotated[str | None, typer.Option(help="Token contract address (EVM).")]
AssetId = Annotated[int | None, typer.Option(help="Asset id (Algorand).")]
StandardOpt = Annotated[
    str, typer.Option(help="The token's standard: erc3643, erc20, erc1400, erc1404, asa, ...")
]
Keystore = Annotated[Path, typer.Option(help="Keystore of the agent / issuer that signs.")]
PasswordEnv = Annotated[str, typer.Option(help="Variable holding the keystore password.")]
Params = Annotated[list[str] | None, typer.Argument(help="name=value parameters.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the receipt as JSON.")]


def parse_params(items: list[str]) -> dict[str, object]:
    """``["to=0xab", "amount=5", "paused=true"]`` -> ``{"to": "0xab", "amount": 5, ...}``."""
    params: dict[str, object] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise InvalidInput("PARAMS", "each parameter is name=value", value=item)
        value: object = text
        if text.lower() in ("true", "false"):
            value = text.lower() == "true"
        elif text.isdigit():
            value = int(text)
        params[name] = value
    return params


def _signer(keystore: Path, password_env: str) -> Any:
    from relayer.keystore import load_signer, password_from_env

    return load_signer(keystore, password_from_env(password_env))


def _adapter_and_ref(
    standard: str, rpc: str | None, algod: str | None, address: str | None, asset_id: int | None
) -> tuple[Any, Any]:
    from bridge.registry import load_registry

    spec = load_registry().get(standard.replace("-", "_"))
    if (rpc is None) == (algod is None):
        raise InvalidInput("--rpc/--algod", "give exactly one chain: --rpc (EVM) or --algod")
    if spec.family == "evm":
        if rpc is None or address is None:
            raise InvalidInput("--rpc/--address", f"{standard} is an EVM standard: give both")
        from adapters.evm.client import EvmClient
        from bridge.model import AssetRef, EvmContractLocator

        client = EvmClient.connect(rpc)
        checked = client.checked_address(address, field_name="--address")
        ref = AssetRef(chain=client.chain, locator=EvmContractLocator(address=checked))
        return spec.factory(client), ref
    if algod is None or asset_id is None:
        raise InvalidInput("--algod/--asset-id", f"{standard} is an Algorand standard: give both")
    import os

    from algosdk.v2client.algod import AlgodClient

    from adapters.algorand.chain import AlgodChain

    chain = AlgodChain(AlgodClient(os.environ.get("STBRIDGE_ALGOD_TOKEN", ""), algod))
    adapter: Any = spec.factory(chain)
    return adapter, adapter.ref(asset_id)


def _run(
    capability: str,
    *,
    standard: str,
    rpc: str | None,
    algod: str | None,
    address: str | None,
    asset_id: int | None,
    keystore: Path,
    password_env: str,
    params: dict[str, object],
    as_json: bool,
) -> None:
    from bridge.model import Capability

    try:
        cap = Capability(capability)
    except ValueError:
        known = ", ".join(c.value for c in Capability)
        raise InvalidInput("CAPABILITY", f"one of {known}", value=capability) from None
    adapter, ref = _adapter_and_ref(standard, rpc, algod, address, asset_id)
    receipt = adapter.agent_operation(ref, cap, _signer(keystore, password_env), **params)
    if as_json:
        typer.echo(json.dumps({"tx_id": receipt.tx_id, "height": receipt.height}))
    else:
        typer.echo(f"{cap.value}: tx {receipt.tx_id} at height {receipt.height}")


@app.command("op")
def op(
    capability: Annotated[str, typer.Argument(help="mint, burn, pause, address_freeze, ...")],
    params: Params = None,
    standard: StandardOpt = "erc3643",
    rpc: Rpc = None,
    algod: Algod = None,
    address: Address = None,
    asset_id: AssetId = None,
    keystore: Keystore = Path("keys/agent.json"),
    password_env: PasswordEnv = "STBRIDGE_KEYSTORE_PASSWORD",
    as_json: AsJson = False,
) -> None:
    """Run any agent operation the standard's adapter declares, with name=value parameters."""
    _run(
        capability,
        standard=standard,
        rpc=rpc,
        algod=algod,
        address=address,
        asset_id=asset_id,
        keystore=keystore,
        password_env=password_env,
        params=parse_params(params or []),
        as_json=as_json,
    )


def _shortcut(name: str, capability: str, fixed: dict[str, object], summary: str) -> None:
    def command(
        params: Params = None,
        standard: StandardOpt = "erc3643",
        rpc: Rpc = None,
        algod: Algod = None,
        address: Address = None,
        asset_id: AssetId = None,
        keystore: Keystore = Path("keys/agent.json"),
        password_env: PasswordEnv = "STBRIDGE_KEYSTORE_PASSWORD",
        as_json: AsJson = False,
    ) -> None:
        _run(
            capability,
            standard=standard,
            rpc=rpc,
            algod=algod,
            address=address,
            asset_id=asset_id,
            keystore=keystore,
            password_env=password_env,
            params={**parse_params(params or []), **fixed},
            as_json=as_json,
        )

    command.__doc__ = summary
    app.command(name)(command)


_shortcut("mint", "mint", {}, "Mint: to=ADDRESS amount=N (ERC-1400: partition=... optional).")
_shortcut("burn", "burn", {}, "Burn: the standard's holder/account and amount parameters.")
_shortcut("pause", "pause", {"paused": True}, "Pause every transfer of the token.")
_shortcut("unpause", "pause", {"paused": False}, "Resume transfers of the token.")
_shortcut(
    "freeze",
    "address_freeze",
    {},
    "Freeze or unfreeze a wallet: address=ADDRESS frozen=true|false.",
)
_shortcut(
    "force-transfer",
    "forced_transfer",
    {},
    "Forced transfer by the agent: sender=ADDRESS recipient=ADDRESS amount=N.",
)
_shortcut(
    "whitelist",
    "whitelist",
    {},
    "Whitelist a holder (ERC-1400/1404): account=ADDRESS whitelisted=true.",
)


@app.command("deploy")
def deploy(
    kind: Annotated[str, typer.Option(help="cash (ERC-20), erc1400 or erc1404.")],
    name: Annotated[str, typer.Option(help="Token name.")],
    symbol: Annotated[str, typer.Option(help="Token symbol.")],
    rpc: Annotated[str, typer.Option(help="EVM JSON-RPC URL.")],
    keystore: Keystore,
    decimals: Annotated[int, typer.Option(min=0, max=255)] = 0,
    currency: Annotated[str, typer.Option(help="ISO 4217 code of a cash token.")] = "USD",
    password_env: PasswordEnv = "STBRIDGE_KEYSTORE_PASSWORD",
    as_json: AsJson = False,
) -> None:
    """Deploy one of stbridge's token contracts, owned by the keystore's account; print its
    address. (T-REX suites need identities and claims: `stbridge devnet up` deploys one.)"""
    from adapters.evm.client import EvmClient

    signer = _signer(keystore, password_env)
    client = EvmClient.connect(rpc)
    if kind == "cash":
        from adapters.evm.erc20 import deploy_cash_token

        address = deploy_cash_token(
            client, signer, name=name, symbol=symbol, decimals=decimals, currency=currency
        )
    elif kind == "erc1400":
        from adapters.evm.erc1400 import deploy_security_token

        address = deploy_security_token(client, signer, name=name, symbol=symbol, decimals=decimals)
    elif kind == "erc1404":
        from adapters.evm.erc1404 import deploy_restricted_token

        address = deploy_restricted_token(
            client, signer, name=name, symbol=symbol, decimals=decimals
        )
    else:
        raise InvalidInput("--kind", "one of cash, erc1400, erc1404", value=kind)
    typer.echo(json.dumps({"address": address, "kind": kind}) if as_json else address)
