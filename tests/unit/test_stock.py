"""Stock and checkout reservations against the in-memory repository: lines merged by SKU before
any check, all or nothing, a retried request answered as the first time, release and expiry only
of a HELD reservation, and the numbers of every SKU adding up after every operation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from shopflow.kernel.conflicts import MAX_ATTEMPTS, ConcurrentUpdates
from shopflow.stock.model import (
    MAX_SKUS,
    RESERVATION_EXPIRY,
    ReservationDue,
    ReservationRequest,
    ReservationStatus,
    ReservedLine,
    Shortage,
    StockItem,
    StockNumbersBroken,
    check_invariant,
    parse_safety,
)
from shopflow.stock.service import (
    AlreadyCommitted,
    Ended,
    Held,
    ReservationNotFound,
    Short,
    expire,
    release,
    reserve,
)
from shopflow.store.stock import InMemoryStockRepository

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
HOLD = timedelta(minutes=15)


def stocked(**on_hand: int) -> InMemoryStockRepository:
    repo = InMemoryStockRepository()
    work = repo.unit_of_work()
    for sku, count in on_hand.items():
        repo.stage_item(StockItem(sku.replace("_", "-"), on_hand=count), NOW, work)
    work.commit()
    repo.commits.clear()
    return repo


def request(
    *lines: tuple[str, int], request_id: str | None = "msg_1", **fields: object
) -> ReservationRequest:
    return ReservationRequest.model_validate(
        {
            "checkout_token": "chk-1",
            "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
            "request_id": request_id,
            **fields,
        }
    )


def numbers(repo: InMemoryStockRepository, sku: str) -> tuple[int, int]:
    item = check_invariant(repo.stock[sku])
    return item.atp or 0, item.reserved


def all_add_up(repo: InMemoryStockRepository) -> None:
    for item in repo.stock.values():
        check_invariant(item)


# --- the model -------------------------------------------------------------------------------


def test_the_invariant_is_checked_and_names_what_does_not_add_up() -> None:
    check_invariant(StockItem("MUG-01", on_hand=10, reserved=3, committed=2, safety=1))
    with pytest.raises(StockNumbersBroken, match="MUG-01"):
        check_invariant(StockItem("MUG-01", on_hand=10, reserved=3, atp=8))


def test_lines_of_one_sku_are_merged_before_anything_is_checked() -> None:
    asked = request(("MUG-01", 2), ("TEE-M", 1), ("MUG-01", 3))

    assert asked.merged == (ReservedLine("MUG-01", 5), ReservedLine("TEE-M", 1))


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ([{"sku": "MUG-01", "quantity": 0}], "greater than or equal to 1"),
        ([{"sku": "MUG-01", "quantity": -1}], "greater than or equal to 1"),
        ([{"sku": "MUG-01", "quantity": 1.5}], "valid integer"),
        ([{"sku": "MUG-01", "quantity": "2"}], "valid integer"),
        ([{"quantity": 1}], "sku"),
        ([{"sku": "", "quantity": 1}], "at least 1 character"),
        ([], "at least 1 item"),
        (
            [{"sku": f"SKU-{n}", "quantity": 1} for n in range(MAX_SKUS + 1)],
            f"at most {MAX_SKUS} different SKUs",
        ),
    ],
)
def test_a_bad_request_is_refused_naming_the_problem(lines: list[dict[str, object]], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        ReservationRequest.model_validate({"checkout_token": "chk-1", "lines": lines})


def test_hold_minutes_are_bounded() -> None:
    for minutes in (0, 121, 2.5):
        with pytest.raises(ValidationError, match="hold_minutes"):
            request(("MUG-01", 1), hold_minutes=minutes)
    assert request(("MUG-01", 1), hold_minutes=30).hold(15) == timedelta(minutes=30)
    assert request(("MUG-01", 1)).hold(15) == timedelta(minutes=15)


def test_safety_rules_parse_and_refuse_what_they_cannot_read() -> None:
    rules = parse_safety(("sku:mug-01=2", "default=1"))
    assert (rules.for_sku("MUG-01"), rules.for_sku("TEE-M")) == (2, 1)
    for bad in ("mug-01=2", "sku:=2", "sku:mug-01=-1", "sku:mug-01=two", "default"):
        with pytest.raises(ValueError, match="sku:<SKU>=<units>"):
            parse_safety((bad,))


# --- reserving -------------------------------------------------------------------------------


def test_a_hold_moves_atp_into_reserved_with_its_timer_in_one_commit() -> None:
    repo = stocked(MUG_01=10, TEE_M=4)

    answer = reserve(request(("MUG-01", 3), ("TEE-M", 1)), repo, now=NOW, hold=HOLD)

    assert isinstance(answer, Held) and not answer.duplicate
    assert answer.reservation.status is ReservationStatus.HELD
    assert answer.reservation.expires_at == NOW + HOLD
    assert (numbers(repo, "MUG-01"), numbers(repo, "TEE-M")) == ((7, 3), (3, 1))
    (timer,) = repo.timers.values()
    assert (timer.action, timer.due_at) == (RESERVATION_EXPIRY, NOW + HOLD)
    # the reservation, two SKUs, the checkout's hold pointer, the timer; no read
    assert repo.commits == [5] and repo.reads == 0


def test_two_lines_of_one_sku_that_fit_alone_but_not_together_are_refused() -> None:
    repo = stocked(MUG_01=4)

    answer = reserve(request(("MUG-01", 3), ("MUG-01", 2)), repo, now=NOW, hold=HOLD)

    assert isinstance(answer, Short) and answer.short == (Shortage("MUG-01", 5, 4),)
    assert numbers(repo, "MUG-01") == (4, 0)


def test_one_short_sku_holds_nothing_of_the_others_and_an_unknown_sku_has_none() -> None:
    repo = stocked(MUG_01=10, TEE_M=1)

    answer = reserve(request(("MUG-01", 2), ("TEE-M", 2), ("GHOST", 1)), repo, now=NOW, hold=HOLD)

    assert isinstance(answer, Short)
    assert answer.short == (Shortage("TEE-M", 2, 1), Shortage("GHOST", 1, 0))
    assert (numbers(repo, "MUG-01"), numbers(repo, "TEE-M")) == ((10, 0), (1, 0))
    assert repo.timers == {} and repo.commits == []


def test_a_retried_request_gets_the_first_answer_and_holds_nothing_more() -> None:
    repo = stocked(MUG_01=10)
    first = reserve(request(("MUG-01", 3)), repo, now=NOW, hold=HOLD)

    again = reserve(request(("MUG-01", 3)), repo, now=NOW + timedelta(seconds=5), hold=HOLD)

    assert isinstance(first, Held) and isinstance(again, Held) and again.duplicate
    assert again.reservation == first.reservation
    assert numbers(repo, "MUG-01") == (7, 3)


def test_a_retried_refused_request_is_refused_again_even_when_stock_came_back() -> None:
    repo = stocked(MUG_01=1)
    first = reserve(request(("MUG-01", 3)), repo, now=NOW, hold=HOLD)
    repo.stock["MUG-01"] = StockItem("MUG-01", on_hand=10)

    again = reserve(request(("MUG-01", 3)), repo, now=NOW, hold=HOLD)

    assert isinstance(first, Short) and again == Short(first.reservation_id, first.short, duplicate=True)
    assert numbers(repo, "MUG-01") == (10, 0)


def test_different_requests_of_one_checkout_are_different_reservations() -> None:
    repo = stocked(MUG_01=10)
    one = reserve(request(("MUG-01", 1), request_id="msg_1"), repo, now=NOW, hold=HOLD)
    two = reserve(request(("MUG-01", 1), request_id="msg_2"), repo, now=NOW, hold=HOLD)

    assert isinstance(one, Held) and isinstance(two, Held)
    assert one.reservation.reservation_id != two.reservation.reservation_id
    assert numbers(repo, "MUG-01") == (8, 2)


def test_a_lost_race_is_retried_and_then_given_up_as_concurrent_updates() -> None:
    repo = stocked(MUG_01=10)
    repo.conflicts.extend([True, True])
    assert isinstance(reserve(request(("MUG-01", 1)), repo, now=NOW, hold=HOLD, sleep=lambda _: None), Held)

    repo.conflicts.extend([True] * MAX_ATTEMPTS)
    with pytest.raises(ConcurrentUpdates):
        reserve(request(("MUG-01", 1), request_id="msg_2"), repo, now=NOW, hold=HOLD, sleep=lambda _: None)
    assert numbers(repo, "MUG-01") == (9, 1)


# --- releasing and expiring ------------------------------------------------------------------


def held(repo: InMemoryStockRepository, *lines: tuple[str, int]) -> Held:
    answer = reserve(request(*lines), repo, now=NOW, hold=HOLD)
    assert isinstance(answer, Held)
    repo.commits.clear()
    return answer


def timer_payload(repo: InMemoryStockRepository) -> ReservationDue:
    (timer,) = repo.timers.values()
    return ReservationDue.model_validate_json(timer.payload)


def test_a_release_gives_the_stock_back_and_removes_the_timer() -> None:
    repo = stocked(MUG_01=10, TEE_M=4)
    answer = held(repo, ("MUG-01", 3), ("TEE-M", 1))

    ended = release(answer.reservation.reservation_id, repo, now=NOW + timedelta(minutes=2))

    assert ended == Ended(answer.reservation.reservation_id, ReservationStatus.RELEASED, changed=True)
    assert (numbers(repo, "MUG-01"), numbers(repo, "TEE-M")) == ((10, 0), (4, 0))
    assert repo.timers == {} and repo.commits == [4]


def test_a_second_release_moves_nothing_and_says_released() -> None:
    repo = stocked(MUG_01=10)
    answer = held(repo, ("MUG-01", 3))
    release(answer.reservation.reservation_id, repo, now=NOW)

    again = release(answer.reservation.reservation_id, repo, now=NOW)

    assert again == Ended(answer.reservation.reservation_id, ReservationStatus.RELEASED, changed=False)
    assert numbers(repo, "MUG-01") == (10, 0)


def test_releasing_an_unknown_or_a_committed_reservation_is_refused() -> None:
    repo = stocked(MUG_01=10)
    answer = held(repo, ("MUG-01", 3))
    rid = answer.reservation.reservation_id
    with pytest.raises(ReservationNotFound):
        release("rsv_nope", repo, now=NOW)
    repo.reservations[rid] = answer.reservation.ended(
        ReservationStatus.COMMITTED, NOW
    )  # paid (a later input)

    with pytest.raises(AlreadyCommitted, match="cannot be released"):
        release(rid, repo, now=NOW)
    assert numbers(repo, "MUG-01") == (7, 3)


def test_the_expiry_gives_the_stock_back_once_reading_nothing() -> None:
    repo = stocked(MUG_01=10)
    answer = held(repo, ("MUG-01", 3))
    due = timer_payload(repo)
    repo.reads = 0

    first = expire(due, repo, now=NOW + HOLD)
    second = expire(due, repo, now=NOW + HOLD)  # the timer swept twice

    assert first == Ended(answer.reservation.reservation_id, ReservationStatus.EXPIRED, changed=True)
    assert second == Ended(answer.reservation.reservation_id, ReservationStatus.EXPIRED, changed=False)
    assert numbers(repo, "MUG-01") == (10, 0)
    assert repo.commits == [2]  # the reservation and its SKU; the timer consumer removes the timer
    assert repo.reservations[answer.reservation.reservation_id].checkout_token == "chk-1"  # type: ignore[union-attr]


def test_a_released_reservation_does_not_expire_and_an_expired_one_is_not_released() -> None:
    repo = stocked(MUG_01=10)
    released = held(repo, ("MUG-01", 3))
    due = timer_payload(repo)
    release(released.reservation.reservation_id, repo, now=NOW)
    assert expire(due, repo, now=NOW + HOLD).changed is False

    answer = reserve(request(("MUG-01", 2), request_id="msg_2"), repo, now=NOW, hold=HOLD)
    assert isinstance(answer, Held)
    expire(timer_payload(repo), repo, now=NOW + HOLD)
    assert release(answer.reservation.reservation_id, repo, now=NOW + HOLD) == Ended(
        answer.reservation.reservation_id, ReservationStatus.EXPIRED, changed=False
    )
    assert numbers(repo, "MUG-01") == (10, 0)


def test_the_numbers_add_up_after_every_operation_of_a_busy_checkout_day() -> None:
    repo = stocked(MUG_01=5, TEE_M=3, CAP=1)
    held_ids: list[str] = []
    for n in range(12):
        lines = [("MUG-01", 1 + n % 2), ("TEE-M", 1)] if n % 3 else [("CAP", 1), ("MUG-01", 1)]
        answer = reserve(request(*lines, request_id=f"msg_{n}"), repo, now=NOW, hold=HOLD)
        all_add_up(repo)
        if isinstance(answer, Held):
            held_ids.append(answer.reservation.reservation_id)
        if n % 4 == 3 and held_ids:
            release(held_ids.pop(0), repo, now=NOW)
            all_add_up(repo)
    for timer in list(repo.timers.values()):
        expire(ReservationDue.model_validate_json(timer.payload), repo, now=NOW + HOLD)
        all_add_up(repo)
    assert {sku: numbers(repo, sku) for sku in repo.stock} == {
        "MUG-01": (5, 0),
        "TEE-M": (3, 0),
        "CAP": (1, 0),
    }
