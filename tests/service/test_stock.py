"""Stock on DynamoDB (moto): a reserve, a release and an expiry are each ONE TransactWriteItems
with no read first; a refused hold writes nothing but its answer; a hold's timer, swept when
due, gives the stock back through the action the stock capability registered."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from shopflow import bootstrap
from shopflow.stock.model import MAX_SKUS, ReservationDue, ReservationRequest, ReservationStatus, StockItem
from shopflow.stock.service import Ended, Held, Short, expire, release, reserve
from shopflow.store.stock import DynamoStockRepository
from tests.service.conftest import Stack, run_due

HOLD = timedelta(minutes=15)


@pytest.fixture
def repo(stack: Stack) -> DynamoStockRepository:
    stock = bootstrap.runtime().stock
    work = stock.unit_of_work()
    for sku, count in (("MUG-01", 10), ("TEE-M", 4), ("CAP", 1)):
        stock.stage_item(
            StockItem(sku, on_hand=count, safety=1 if sku == "TEE-M" else 0), stack.clock.now(), work
        )
    work.commit()
    return stock


def request(*lines: tuple[str, int], request_id: str = "msg_1") -> ReservationRequest:
    return ReservationRequest(
        checkout_token="chk-1",
        lines=[{"sku": sku, "quantity": quantity} for sku, quantity in lines],
        request_id=request_id,
    )


def level(stack: Stack, sku: str) -> dict[str, int]:
    item = stack.table.get_item(Key={"pk": f"STOCK#{sku}", "sk": "STOCK"}, ConsistentRead=True)["Item"]
    numbers = {name: int(item[name]) for name in ("on_hand", "reserved", "committed", "safety", "atp")}
    assert (
        numbers["atp"] + numbers["reserved"] + numbers["committed"] + numbers["safety"] == numbers["on_hand"]
    )
    return numbers


def test_a_reserve_is_one_transact_write_items_and_no_read(
    stack: Stack, repo: DynamoStockRepository, dynamodb_calls: Counter[str]
) -> None:
    answer = reserve(
        request(("MUG-01", 3), ("TEE-M", 2), ("MUG-01", 1)), repo, now=stack.clock.now(), hold=HOLD
    )

    assert isinstance(answer, Held)
    assert dynamodb_calls == Counter({"TransactWriteItems": 1})
    assert (level(stack, "MUG-01")["atp"], level(stack, "MUG-01")["reserved"]) == (6, 4)
    assert (level(stack, "TEE-M")["atp"], level(stack, "TEE-M")["reserved"]) == (1, 2)
    (reservation,) = stack.items_of("RESERVATION")
    assert (reservation["status"], reservation["lines"]) == ("held", '[["MUG-01",4],["TEE-M",2]]')
    (timer,) = stack.items_of("TIMER")
    assert timer["due_at"].startswith((stack.clock.now() + HOLD).isoformat()[:19])


def test_a_short_sku_holds_nothing_reads_the_skus_once_and_keeps_its_answer(
    stack: Stack, repo: DynamoStockRepository, dynamodb_calls: Counter[str]
) -> None:
    answer = reserve(
        request(("MUG-01", 2), ("TEE-M", 4), ("GHOST", 1)), repo, now=stack.clock.now(), hold=HOLD
    )

    assert isinstance(answer, Short)
    assert [(s.sku, s.requested, s.available) for s in answer.short] == [("TEE-M", 4, 3), ("GHOST", 1, 0)]
    assert dynamodb_calls == Counter({"TransactWriteItems": 1, "BatchGetItem": 1, "PutItem": 1})
    assert (level(stack, "MUG-01")["reserved"], level(stack, "TEE-M")["reserved"]) == (0, 0)
    assert stack.items_of("TIMER") == [] and [i["status"] for i in stack.items_of("RESERVATION")] == [
        "refused"
    ]
    assert not [i for i in stack.items() if i["pk"] == "STOCK#GHOST"]  # the failed update made no item

    again = reserve(
        request(("MUG-01", 2), ("TEE-M", 4), ("GHOST", 1)), repo, now=stack.clock.now(), hold=HOLD
    )
    assert again == Short(answer.reservation_id, answer.short, duplicate=True)


def test_a_retried_reserve_gets_the_first_answer_and_holds_nothing_more(
    stack: Stack, repo: DynamoStockRepository
) -> None:
    first = reserve(request(("CAP", 1)), repo, now=stack.clock.now(), hold=HOLD)
    again = reserve(request(("CAP", 1)), repo, now=stack.clock.now(), hold=HOLD)

    assert isinstance(first, Held) and isinstance(again, Held) and again.duplicate
    assert again.reservation == first.reservation
    assert level(stack, "CAP")["reserved"] == 1 and len(stack.items_of("TIMER")) == 1


def test_a_release_reads_the_reservation_once_and_commits_once(
    stack: Stack, repo: DynamoStockRepository, dynamodb_calls: Counter[str]
) -> None:
    held = reserve(request(("MUG-01", 3), ("CAP", 1)), repo, now=stack.clock.now(), hold=HOLD)
    assert isinstance(held, Held)
    dynamodb_calls.clear()

    ended = release(held.reservation.reservation_id, repo, now=stack.clock.now())

    assert ended == Ended(held.reservation.reservation_id, ReservationStatus.RELEASED, changed=True)
    assert dynamodb_calls == Counter({"GetItem": 1, "TransactWriteItems": 1})
    assert (level(stack, "MUG-01")["atp"], level(stack, "CAP")["atp"]) == (10, 1)
    assert stack.items_of("TIMER") == []
    assert [i["status"] for i in stack.items_of("RESERVATION")] == ["released"]


def test_an_expiry_is_one_transact_write_items_and_no_read(
    stack: Stack, repo: DynamoStockRepository, dynamodb_calls: Counter[str]
) -> None:
    held = reserve(request(("MUG-01", 3)), repo, now=stack.clock.now(), hold=HOLD)
    assert isinstance(held, Held)
    (timer,) = stack.items_of("TIMER")
    dynamodb_calls.clear()

    ended = expire(ReservationDue.model_validate_json(timer["payload"]), repo, now=stack.clock.now() + HOLD)

    assert ended.changed and dynamodb_calls == Counter({"TransactWriteItems": 1})
    assert level(stack, "MUG-01")["atp"] == 10
    (reservation,) = stack.items_of("RESERVATION")
    assert (reservation["status"], reservation["checkout_token"]) == ("expired", "chk-1")


def test_a_hold_not_paid_in_time_is_given_back_by_the_sweep(
    stack: Stack, repo: DynamoStockRepository
) -> None:
    held = reserve(request(("CAP", 1)), repo, now=stack.clock.now(), hold=HOLD)
    assert isinstance(held, Held)
    assert run_due(stack) == 0 and level(stack, "CAP")["atp"] == 0

    stack.clock.advance(HOLD + timedelta(minutes=1))
    assert run_due(stack) == 1

    assert level(stack, "CAP") == {"on_hand": 1, "reserved": 0, "committed": 0, "safety": 0, "atp": 1}
    assert [i["status"] for i in stack.items_of("RESERVATION")] == ["expired"]
    assert stack.items_of("TIMER") == []


def test_the_largest_reservation_is_still_one_transaction(
    stack: Stack, repo: DynamoStockRepository, dynamodb_calls: Counter[str]
) -> None:
    work = repo.unit_of_work()
    for n in range(MAX_SKUS):
        repo.stage_item(StockItem(f"SKU-{n:03d}", on_hand=2), stack.clock.now(), work)
    work.commit()
    dynamodb_calls.clear()

    held = reserve(
        request(*((f"SKU-{n:03d}", 1) for n in range(MAX_SKUS))), repo, now=stack.clock.now(), hold=HOLD
    )
    assert isinstance(held, Held)
    released = release(held.reservation.reservation_id, repo, now=stack.clock.now())

    assert released.changed
    assert dynamodb_calls == Counter({"TransactWriteItems": 2, "GetItem": 1})
    assert level(stack, "SKU-042") == {"on_hand": 2, "reserved": 0, "committed": 0, "safety": 0, "atp": 2}
