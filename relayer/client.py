"""A small client of the relayer's HTTP API for platforms using stbridge as a library.

::

    from relayer.client import RelayerClient

    with RelayerClient("http://127.0.0.1:8787", token=os.environ["STBRIDGE_API_TOKEN"]) as api:
        view = api.submit(order)          # a SwapOrder or its JSON-able dict
        final = api.wait(view["swap_id"]) # until it ends: outcome, and why when not completed

Errors are :mod:`bridge.errors`: ``InvalidInput`` names the field the relayer refused,
``NotFound``, ``ChainUnavailable`` when the relayer is unreachable; the API answers RFC 9457
problem details and this client turns them back into those errors.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

import httpx

from bridge.errors import (
    ChainTimeout,
    ChainUnavailable,
    ConfigError,
    InvalidInput,
    NotFound,
    PermanentError,
)

__all__ = ["RelayerClient"]


class RelayerClient:
    """Submit and follow swaps on one relayer (bearer ``token``)."""

    def __init__(self, url: str, *, token: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ChainUnavailable(f"relayer at {self.url} is unreachable: {exc}") from exc
        if response.status_code < 400:
            return response.json()
        try:
            body = response.json()
        except ValueError:
            body = {"detail": response.text}
        detail = str(body.get("detail", response.reason_phrase))
        if response.status_code == 404:
            raise NotFound(detail)
        if response.status_code == 422 and body.get("field"):
            raise InvalidInput(str(body["field"]), str(body.get("rule", detail)))
        if response.status_code == 401:
            raise ConfigError(f"the relayer refused the bearer token ({detail})")
        if response.status_code >= 500:
            raise ChainUnavailable(f"relayer answered {response.status_code}: {detail}")
        raise PermanentError(f"relayer answered {response.status_code}: {detail}")

    def submit(self, order: Any) -> dict[str, Any]:
        """Submit an order (a ``SwapOrder`` or its JSON dict); the swap's view."""
        body = order.model_dump(mode="json") if hasattr(order, "model_dump") else order
        view: dict[str, Any] = self._call("POST", "/swaps", json=body)
        return view

    def get(self, swap_id: str) -> dict[str, Any]:
        """One swap: outcome, both legs, and ``why`` when it did not complete."""
        view: dict[str, Any] = self._call("GET", f"/swaps/{swap_id}")
        return view

    def audit(self, swap_id: str) -> dict[str, Any]:
        """The audit record: the trade, the decision with citations, every input."""
        record: dict[str, Any] = self._call("GET", f"/swaps/{swap_id}/audit")
        return record

    def wait(self, swap_id: str, *, timeout: float = 600.0, poll: float = 0.5) -> dict[str, Any]:
        """Poll until the swap ends; its final view (``ChainTimeout`` after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            view = self.get(swap_id)
            if view["outcome"] != "open":
                return view
            if time.monotonic() > deadline:
                raise ChainTimeout(f"swap {swap_id} still open after {timeout:.0f} s")
            time.sleep(poll)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> RelayerClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
