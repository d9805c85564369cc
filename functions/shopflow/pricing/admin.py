"""The owner's proposals over HTTP, for the admin routes of the api (functions/app.py):

    GET  /admin/prices/proposals                      200 {"proposals": [...], "count": n}
    POST /admin/prices/proposals/{id}/approve         200 {"status": "applied", "applied": [...]}
    POST /admin/prices/proposals/{id}/reject          200 {"status": "rejected", ...}

the same answers as `shopflow prices proposals|approve|reject` (cli/prices.py), from the same
service functions. API Gateway lets only IAM-signed callers allowed `execute-api:Invoke` reach
them (template.yaml, docs/pricing.md). Money as decimal strings. 404: no such proposal waits;
409: the approval is refused (its inputs changed: the proposal is closed, the reason says what the
engine wants now) or the SKU's record changed meanwhile (try again); 503: pricing is off.
Each answer is (status, JSON body).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shopflow.observability import logger
from shopflow.pricing.model import text
from shopflow.pricing.ports import PricesConflict
from shopflow.pricing.reprice import ProposalRefused
from shopflow.pricing.settings import OFF, enabled

if TYPE_CHECKING:
    from shopflow.bootstrap import Runtime

Answer = tuple[int, dict[str, Any]]

MOVED = "the SKU's prices changed while this was decided: try again"


OFF_ANSWER: Answer = (503, {"error": OFF})


def _unknown(proposal_id: str) -> Answer:
    return 404, {
        "id": proposal_id,
        "error": f"{proposal_id}: no such proposal waits (approved, rejected or expired already)",
    }


def _waits(runtime: Runtime, proposal_id: str) -> bool:
    return any(proposal.proposal_id == proposal_id for proposal in runtime.pricing.proposals())


def waiting_proposals(runtime: Runtime) -> Answer:
    """Every proposal waiting for the owner, oldest first (as `prices proposals --json`)."""
    if not enabled(runtime.settings.load()):
        return OFF_ANSWER
    waiting = [proposal.as_dict() for proposal in runtime.pricing.proposals()]
    return 200, {"proposals": waiting, "count": len(waiting)}


def approve(runtime: Runtime, proposal_id: str, caller: str | None = None) -> Answer:
    """Apply the proposal if its inputs are unchanged (the engine re-run now), else refuse it."""
    from shopflow.pricing.handlers import stock_reader
    from shopflow.pricing.service import approve_proposal, pricing_setup

    settings = runtime.settings.load()
    if not enabled(settings):
        return OFF_ANSWER
    if not _waits(runtime, proposal_id):
        return _unknown(proposal_id)
    setup = pricing_setup(settings)
    try:
        outcome = approve_proposal(
            proposal_id, runtime.pricing, setup, stock_reader(runtime), runtime.clock.now()
        )
    except ProposalRefused as exc:
        logger.info("price proposal refused", extra={"proposal": proposal_id, "caller": caller})
        return 409, {"id": proposal_id, "status": "refused", "error": str(exc)}
    except PricesConflict:
        return 409, {"id": proposal_id, "status": "conflict", "error": MOVED}
    logger.info("price proposal approved", extra={"proposal": proposal_id, "caller": caller})
    return 200, {
        "id": proposal_id,
        "status": "applied",
        "applied": [change.as_dict() for change in outcome.applied],
    }


def reject(runtime: Runtime, proposal_id: str, caller: str | None = None) -> Answer:
    """Close the proposal; the engine does not ask again until its inputs move."""
    from shopflow.pricing.service import reject_proposal

    if not enabled(runtime.settings.load()):
        return OFF_ANSWER
    try:
        outcome = reject_proposal(proposal_id, runtime.pricing, runtime.clock.now())
    except ProposalRefused:
        return _unknown(proposal_id)
    except PricesConflict:
        return 409, {"id": proposal_id, "status": "conflict", "error": MOVED}
    [proposal] = outcome.closed
    logger.info("price proposal rejected", extra={"proposal": proposal_id, "caller": caller})
    return 200, {
        "id": proposal_id,
        "status": "rejected",
        "sku": proposal.sku,
        "channel": proposal.channel,
        "currency": proposal.currency,
        "price": text(proposal.old),  # what the channel keeps showing
    }
