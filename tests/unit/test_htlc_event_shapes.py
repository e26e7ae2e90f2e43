"""The HTLC adapter decodes its own events by hand: the shapes it assumes are the ABI's."""

from __future__ import annotations

from adapters.evm.contracts import load_artifact
from adapters.evm.htlc import _EVENT_SHAPES


def test_the_hand_decoded_event_shapes_are_the_contracts() -> None:
    """Every event of HTLC.sol, with its indexed fields (all bytes32) and its data fields
    in order with their types, is exactly what the hand decoder reads."""
    found = {}
    for item in load_artifact("HTLC").abi:
        if item.get("type") != "event":
            continue
        indexed = tuple(i["name"] for i in item["inputs"] if i["indexed"])
        assert all(i["type"] == "bytes32" for i in item["inputs"] if i["indexed"])
        plain = tuple((i["name"], i["type"]) for i in item["inputs"] if not i["indexed"])
        found[item["name"]] = (indexed, plain)
    assert found == dict(_EVENT_SHAPES)
