"""Duplicate candidates (same phone or same address, same category, still open) and what a merge
does: the older request stays, with the higher priority and the earlier deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hotline.requests.duplicates import Match, RequestKeys, find_duplicates, plan_merge
from hotline.requests.lifecycle import InvalidTransition, Priority, RequestState

T0 = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)


def keys(request_id: str, **kw: object) -> RequestKeys:
    fields: dict[str, object] = {
        "category_id": "medicine",
        "state": RequestState.NEW,
        "created_at": T0,
        "phone_key": "74950001122",
        "address_key": "тверская|5|12",
    }
    fields.update(kw)
    return RequestKeys(request_id, **fields)  # type: ignore[arg-type]


def test_same_phone_or_same_address_in_the_same_open_category_are_candidates() -> None:
    existing = [
        keys("phone", address_key="мира проспект|1|", created_at=T0 + timedelta(hours=1)),
        keys("door", phone_key="79990000000"),
        keys("both", created_at=T0 - timedelta(hours=1)),
        keys("other_category", category_id="groceries"),
        keys("done", state=RequestState.DONE),
        keys("merged", merged_into="both"),
        keys("stranger", phone_key="70000000000", address_key="арбат|1|"),
    ]
    found = find_duplicates(
        category_id="medicine",
        phone_key="74950001122",
        address_key="тверская|5|12",
        existing=existing,
    )
    assert [(c.id, c.matches) for c in found] == [
        ("both", (Match.SAME_PHONE, Match.SAME_ADDRESS)),
        ("door", (Match.SAME_ADDRESS,)),
        ("phone", (Match.SAME_PHONE,)),
    ]


def test_a_request_without_keys_has_no_duplicates() -> None:
    assert (
        find_duplicates(
            category_id="medicine", phone_key=None, address_key=None, existing=[keys("a")]
        )
        == []
    )


def test_a_request_is_not_its_own_duplicate() -> None:
    found = find_duplicates(
        category_id="medicine",
        phone_key="74950001122",
        address_key=None,
        existing=[keys("self")],
        exclude_id="self",
    )
    assert found == []


def test_a_merge_keeps_the_higher_priority_and_the_earlier_deadline() -> None:
    primary = keys("p", priority=Priority.NORMAL, sla_deadline=T0 + timedelta(hours=24))
    duplicate = keys("d", priority=Priority.HIGH, sla_deadline=T0 + timedelta(hours=12))
    plan = plan_merge(primary, duplicate)
    assert (plan.priority, plan.sla_deadline) == (Priority.HIGH, T0 + timedelta(hours=12))
    assert plan.reason == "duplicate of request p"


@pytest.mark.parametrize(
    ("primary", "duplicate", "message"),
    [
        (keys("a"), keys("a"), "into itself"),
        (keys("a"), keys("b", category_id="groceries"), "same category"),
        (keys("a", state=RequestState.DONE), keys("b"), "primary request is already done"),
        (
            keys("a"),
            keys("b", merged_into="c"),
            "duplicate request is already merged into request c",
        ),
        (keys("a"), keys("b", state=RequestState.IN_PROGRESS), "merge the other request"),
    ],
)
def test_merges_that_would_lose_work_are_refused(
    primary: RequestKeys, duplicate: RequestKeys, message: str
) -> None:
    with pytest.raises(InvalidTransition, match=message):
        plan_merge(primary, duplicate)
