"""Swap orders as files: their JSON Schema, the example orders, and loading one.

- :func:`swap_order_schema` is the order's JSON Schema (``specs/schemas/swap-order.schema.
  json``, written and drift-checked by ``stbridge schema export [--check]`` through the
  ``stbridge.schemas`` entry point). It is :class:`relayer.service.SwapOrder`'s schema with
  ``trade`` required: the model lets a test build an order without one, but the relayer's
  compliance refuses such an order (``INFORMATION_MISSING``), so a file without it is not a
  valid order.
- :data:`KINDS` are the kinds of trade the devnet's relayer settles, one example order each:
  :func:`example_orders` builds them for real addresses (``stbridge devnet up`` writes them
  to ``DIR/orders/``), :func:`static_examples` for invented ones, checked in under
  ``specs/examples/orders/`` and shipped in the wheel as package data (:func:`examples_dir`;
  ``python -m relayer.orders [--check]`` writes or checks them).
- :func:`load_order` reads an order file with the model and the schema's rule, naming the
  field of the first problem.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from bridge.errors import InvalidInput
from bridge.model import AlgorandAsaLocator, AlgorandChain, AssetRef, EvmChain, EvmContractLocator

TRADE_REQUIRED: Final = "required: the trade compliance judges (see specs/schemas/swap-order)"
"""The rule an order without its ``trade`` breaks (the API, the CLI and the loader say it)."""

__all__ = [
    "KINDS",
    "TRADE_REQUIRED",
    "example_orders",
    "examples_dir",
    "load_order",
    "main",
    "static_examples",
    "swap_order_schema",
]

USD_CENTS: Final = 100

KINDS: Final[dict[str, tuple[str, str, str, int, str, int, bool]]] = {
    # name: (security, seller, buyer, units, cash, amount in base units, cash on Algorand)
    "trex-jp-to-sg-for-usd-on-algorand": (
        "TOT", "alice", "bob", 250, "USD-ASA", 250_000 * USD_CENTS, True,
    ),
    "trex-jp-to-us-refused-by-token": ("TOT", "alice", "carol", 10, "USD-ASA", 1_000, True),
    "erc1400-jp-to-sg-for-usd-on-algorand": ("OGB", "alice", "erin", 100, "USD-ASA", 500, True),
    "erc1404-jp-to-sg-for-jpy-on-evm": ("SFU", "dave", "bob", 50, "JPYX", 750_000, False),
    "trex-jp-to-sg-for-usdx-on-evm": ("TOT", "dave", "erin", 20, "USDX", 20_000 * 10**6, False),
    "ibet-share-jp-to-sg-for-jpy-on-evm": ("KHS", "alice", "erin", 100, "JPYX", 100_000, False),
    "trex-jp-to-sg-buyer-never-pays": ("TOT", "alice", "grace", 5, "USD-ASA", 50_000, True),
}  # fmt: skip
"""Each kind of trade the devnet settles (the security always on the EVM chain "evm"; the
cash on "algorand" or on "evm"). ``buyer-never-pays``: the relayer holds no key of grace's,
so only the seller locks and is refunded after the deadline (``stbridge devnet advance``)."""

STATIC_DIR: Final = Path("specs") / "examples" / "orders"
"""Where the example orders live in the checkout; installed, they are package data
(:func:`examples_dir`)."""


def examples_dir() -> Path:
    """The shipped example orders (``specs/examples/orders/``), read through
    ``importlib.resources``: the checkout's files, or the wheel's package data."""
    from bridge.compliance.loader import specs_dir

    return specs_dir() / "examples" / "orders"


def swap_order_schema() -> dict[str, Any]:
    """The order's JSON Schema (validation mode) with ``trade`` required and not null."""
    from relayer.service import SwapOrder

    schema = SwapOrder.model_json_schema(mode="validation")
    trade = schema["properties"]["trade"]
    ref = next(item for item in trade.get("anyOf", [trade]) if "$ref" in item)
    schema["properties"]["trade"] = {
        "$ref": ref["$ref"],
        "description": "The trade the compliance engine judges (required: an order without "
        "it is refused before anything is locked).",
    }
    schema["required"] = sorted({*schema.get("required", []), "trade"})
    return schema


def load_order(path: Path) -> Any:
    """The :class:`SwapOrder` in ``path``; ``InvalidInput`` names the first bad field."""
    from relayer.service import SwapOrder

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInput("ORDER", f"a readable JSON file ({exc})", value=str(path)) from None
    if isinstance(data, dict) and data.get("trade") is None:
        raise InvalidInput("trade", TRADE_REQUIRED)
    try:
        return SwapOrder.model_validate(data)
    except ValidationError as exc:
        from bridge.validation import invalid_input

        raise invalid_input(exc) from None


def example_orders(
    *,
    refs: dict[str, AssetRef],
    evm: dict[str, str],
    algo: dict[str, str],
    countries: dict[str, str],
    prefix: str = "devnet",
) -> dict[str, Any]:
    """One :class:`SwapOrder` per entry of :data:`KINDS`, by name, for these assets
    (``TOT``, ``OGB``, ``SFU``, ``KHS``, ``USDX``, ``JPYX``, ``USD-ASA``) and wallets."""
    from relayer.embedded import cross_chain_order
    from relayer.service import LegOrder

    orders: dict[str, Any] = {}
    for name, (sec, seller, buyer, units, cash, amount, on_algorand) in KINDS.items():
        payer = algo if on_algorand else evm
        orders[name] = cross_chain_order(
            f"{prefix}-{name}",
            security=LegOrder(
                chain="evm", asset=refs[sec], amount=units, sender=evm[seller],
                receiver=evm[buyer],
            ),
            cash=LegOrder(
                chain="algorand" if on_algorand else "evm", asset=refs[cash], amount=amount,
                sender=payer[buyer], receiver=payer[seller],
            ),
            buyer_residence=countries[buyer],
        )  # fmt: skip
    return orders


def _invented_evm(label: str) -> str:
    from web3 import Web3

    return str(Web3.to_checksum_address(hashlib.sha256(f"evm:{label}".encode()).digest()[:20]))


def _invented_algorand(label: str) -> str:
    from algosdk.encoding import encode_address

    return str(encode_address(hashlib.sha256(f"algorand:{label}".encode()).digest()))  # type: ignore[no-untyped-call]


def static_examples() -> dict[str, Any]:
    """The example orders with invented wallets and contracts (anvil's chain id 31337 and
    the embedded ledger's genesis), as checked in under ``specs/examples/orders/``."""
    import base64

    evm_chain = EvmChain(chain_id=31337)
    algorand = AlgorandChain(
        genesis_hash=base64.b64encode(hashlib.sha256(b"stbridge example").digest()).decode(),
        network="example",
    )
    refs = {
        symbol: AssetRef(chain=evm_chain, locator=EvmContractLocator(address=_invented_evm(symbol)))
        for symbol in ("TOT", "OGB", "SFU", "KHS", "USDX", "JPYX")
    }
    refs["USD-ASA"] = AssetRef(chain=algorand, locator=AlgorandAsaLocator(asset_id=1008))
    people = {"alice": "JP", "bob": "SG", "carol": "US", "dave": "JP", "erin": "SG", "grace": "SG"}
    return example_orders(
        refs=refs,
        evm={label: _invented_evm(label) for label in people},
        algo={label: _invented_algorand(label) for label in people},
        countries=people,
        prefix="example",
    )


def render(order: Any) -> str:
    """An order's file text (2-space JSON, trailing newline)."""
    return json.dumps(order.model_dump(mode="json"), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m relayer.orders [--check] [--out DIR]``: write the static example orders,
    or exit 1 naming those that drifted from :func:`static_examples`."""
    parser = argparse.ArgumentParser(prog="python -m relayer.orders", description=main.__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 on drift")
    parser.add_argument(
        "--out", type=Path, default=None, help="where the files live (default: the shipped ones)"
    )
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = examples_dir()
    expected = {f"{name}.json": render(order) for name, order in static_examples().items()}
    if args.check:
        found = {p.name for p in args.out.glob("*.json")} if args.out.is_dir() else set()
        drifted = sorted(
            name
            for name in expected.keys() | found
            if name not in found
            or name not in expected
            or (args.out / name).read_text(encoding="utf-8") != expected[name]
        )
        if drifted:
            print(f"{args.out}: out of date: {', '.join(drifted)}", file=sys.stderr)
            return 1
        print(f"{args.out}: {len(expected)} example orders match")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in expected.items():
        (args.out / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(expected)} example orders to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
