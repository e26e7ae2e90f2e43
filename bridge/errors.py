"""The one exception tree of stbridge.

Every error stbridge raises derives from :class:`BridgeError`. The first split says
whether the same call may succeed if it is simply tried again:

```
BridgeError
├── TransientError                  safe to retry (same request, later)
│   ├── ChainUnavailable            node / RPC / evaluator did not answer
│   ├── ChainTimeout                an answer or a receipt did not arrive in time
│   └── StoreUnavailable            the relayer's database is busy or down
└── PermanentError                  retrying the same call gives the same answer
    ├── InvalidInput                bad input: names the field and the rule broken
    ├── ConfigError                 a settings / rules / keystore file is unusable
    ├── NotFound                    no such asset, account, contract, swap
    ├── WrongStandard               the contract / asset is not the standard asked for
    ├── UnsupportedCapability       the standard or deployment cannot do this operation
    ├── TransferRefused             a dry run or the chain refused a transfer (carries reasons)
    ├── TransactionReverted         a sent transaction failed on chain (decoded reason)
    ├── ComplianceError             the compliance engine could not decide
    └── SettlementError             HTLC / swap protocol violation (wrong secret, expired, ...)
```

SDK exceptions (web3, eth-tester, algosdk, httpx) never escape an adapter: adapters
translate them into this tree, chained with ``raise ... from exc``.

Every error carries a canonical :class:`~bridge.reasons.ReasonCode` when it is a refusal,
so a caller can branch on meaning rather than on message text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bridge.reasons import ReasonCode

__all__ = [
    "ApprovalPending",
    "BridgeError",
    "ChainTimeout",
    "ChainUnavailable",
    "ComplianceError",
    "ConfigError",
    "Conflict",
    "InvalidInput",
    "NotFound",
    "PermanentError",
    "SettlementError",
    "StoreUnavailable",
    "TransactionReverted",
    "TransferRefused",
    "TransientError",
    "UnsupportedCapability",
    "WrongStandard",
]


class BridgeError(Exception):
    """Root of every stbridge error.

    ``reason`` is the canonical reason code when the error is a refusal (None otherwise).
    ``str(err)`` is one line meant for a person.
    """

    transient: bool = False
    exit_code: int = 1

    def __init__(self, message: str, *, reason: ReasonCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason

    def __str__(self) -> str:
        return self.message


class TransientError(BridgeError):
    """The call may succeed if repeated unchanged (network, timeouts, busy store)."""

    transient = True
    exit_code = 4


class ChainUnavailable(TransientError):
    """A chain endpoint (JSON-RPC node, algod, embedded evaluator) could not be reached."""


class ChainTimeout(TransientError):
    """A chain answered too slowly, or a transaction was not confirmed in time."""


class StoreUnavailable(TransientError):
    """The relayer store (SQLite / PostgreSQL) is locked, busy or unreachable."""


class ApprovalPending(TransientError):
    """A token approval the relayer sent without waiting is not mined yet; the lock that
    needs it follows at a later tick (not a fault: nothing to count or back off from)."""


class PermanentError(BridgeError):
    """Repeating the call unchanged gives the same failure."""


class InvalidInput(PermanentError):
    """Input broke a rule. ``field`` names where, ``rule`` says which rule.

    Nothing was sent, locked or written because of this error.
    """

    exit_code = 3

    def __init__(
        self,
        field: str,
        rule: str,
        *,
        value: object | None = None,
        reason: ReasonCode | None = None,
    ) -> None:
        shown = "" if value is None else f" (got {value!r})"
        super().__init__(f"{field}: {rule}{shown}", reason=reason)
        self.field = field
        self.rule = rule
        self.value = value


class ConfigError(PermanentError):
    """A configuration, rules or key file cannot be used; the message names file and place."""

    exit_code = 3


class NotFound(PermanentError):
    """The asset, account, contract, transaction or swap asked for does not exist."""


class Conflict(PermanentError):
    """The request contradicts what already exists (an order id reused with other terms);
    ``fields`` names every field that differs."""

    def __init__(self, message: str, *, fields: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.fields = fields


class WrongStandard(PermanentError):
    """The target exists but does not implement the standard the caller asked for."""


class UnsupportedCapability(PermanentError):
    """The adapter (or this deployment of the standard) does not offer the operation.

    Raised instead of ``NotImplementedError`` whenever an agent operation is asked of an
    adapter that did not declare the matching capability.
    """

    def __init__(self, standard: str, capability: str) -> None:
        super().__init__(f"{standard} does not support {capability}")
        self.standard = standard
        self.capability = capability


class TransferRefused(PermanentError):
    """A transfer would fail, or failed. ``refusals`` holds the canonical reasons."""

    def __init__(self, message: str, *, refusals: tuple[object, ...] = ()) -> None:
        first = getattr(refusals[0], "code", None) if refusals else None
        super().__init__(message, reason=first)
        self.refusals = refusals


class TransactionReverted(PermanentError):
    """A transaction was mined or evaluated and failed.

    ``raw_message`` is the decoded revert string / custom error / evaluator message, and
    ``tx_id`` the transaction id when one exists.
    """

    def __init__(
        self,
        message: str,
        *,
        raw_message: str | None = None,
        tx_id: str | None = None,
        reason: ReasonCode | None = None,
    ) -> None:
        super().__init__(message, reason=reason)
        self.raw_message = raw_message
        self.tx_id = tx_id


class ComplianceError(PermanentError):
    """The compliance engine could not evaluate (bad rules, unknown inputs)."""


class SettlementError(PermanentError):
    """An HTLC or swap-protocol rule was broken (wrong secret, expired, already claimed...)."""
