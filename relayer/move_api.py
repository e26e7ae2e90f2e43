"""HTTP routes for lock-and-mint moves (mounted by :func:`relayer.api.create_app`).

=======  ============================  ================================================
method   path                          what
=======  ============================  ================================================
POST     /moves                        plan a move (checked and journalled; idempotent
                                       on ``move_id``); 422 refused, 409 another request
GET      /moves                        the pair: moves by stage, supply on both sides,
                                       whether the home register follows the mirror
GET      /moves/{move_id}              one move and every journalled transaction
POST     /moves/{move_id}/run          drive the move as far as the chains allow now
=======  ============================  ================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, params
from pydantic import BaseModel, ConfigDict, Field

from bridge.compliance.model import Trade
from bridge.translate.move import MoveRequest
from relayer.move import MoveExecutor

if TYPE_CHECKING:
    from relayer.move_daemon import MoveDriver

__all__ = ["MoveOrder", "move_router"]


class MoveOrder(BaseModel):
    """A move as a client submits it."""

    model_config = ConfigDict(extra="forbid")

    move_id: str = Field(min_length=1, max_length=128)
    direction: Literal["out", "back"]
    holder: str = Field(description="Who gives the units (ibet account out, mirror account back).")
    receiver: str = Field(description="Who gets them on the other side.")
    amount: int = Field(strict=True, ge=0, description="Base units of the side it leaves.")
    home_account: str | None = Field(
        default=None, description="Move out: the register account the mirror units stand for."
    )
    trade: Trade | None = Field(
        default=None,
        description="The move as a trade (holder as seller, receiver as buyer): required by "
        "a relayer that checks the receiving investor with the compliance engine.",
    )


def move_router(
    executor: MoveExecutor,
    *,
    dependencies: Sequence[params.Depends] = (),
    driver: MoveDriver | None = None,
) -> APIRouter:
    """The move routes over ``executor`` (one pair). With the daemon's ``driver``, a manual
    run is fenced as its tick is (the pair's signer lock, the move's lease): a replica never
    runs a move another replica holds."""
    router = APIRouter(prefix="/moves", tags=["moves"], dependencies=list(dependencies))

    @router.post("", status_code=201)
    def plan(order: MoveOrder) -> dict[str, Any]:
        """Check and journal a move; nothing is sent until it runs."""
        request = MoveRequest.model_validate(order.model_dump(exclude={"home_account"}))
        row = executor.plan(request, home_account=order.home_account)
        return row.view()

    @router.get("")
    def summary() -> dict[str, Any]:
        """The pair's moves and supply."""
        return {**executor.summary(), "items": [m.view() for m in executor.moves()]}

    @router.get("/{move_id}")
    def status(move_id: str) -> dict[str, Any]:
        """One move and its audit record (every transaction, with ids and heights)."""
        return executor.status(move_id)

    @router.post("/{move_id}/run")
    def run(move_id: str) -> dict[str, Any]:
        """Drive the move now (idempotent); 409 while another replica runs it."""
        if driver is not None:
            return driver.run_one(move_id)
        executor.run(move_id)
        executor.write_back()
        return executor.status(move_id)

    return router
