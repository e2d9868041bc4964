"""Lazy reading (issue 16): ``from_dict`` keeps the JSON and decodes on first use.

Whatever the first use is — a read, an assignment, ``==``, ``repr``, a copy, a pickle, a
thread racing another — the model behaves exactly like one decoded eagerly.
"""

from __future__ import annotations

import copy
import datetime as dt
import pickle
import threading
from typing import Any

import pytest
from usepolvo.github.models import Issue
from usepolvo.stripe.models import Address, Customer

from usepolvo.core import BaseModel, ResponseValidationError

BODY: dict[str, Any] = {
    "id": "cus_1",
    "object": "customer",
    "created": 1700000000,
    "email": "a@example.com",
    "name": None,
    "address": {"city": "Lisbon", "line1": "Rua 1", "zip": "x"},
    "metadata": {"k": "v"},
    "unknown": [1, {"a": None}],
}


def _eager(cls: type[BaseModel], d: dict[str, Any]) -> Any:
    """What ``from_dict`` gave before: every level decoded at once."""
    model = cls.from_dict(d)
    _touch(model)
    return model


def _touch(model: Any) -> None:
    for _, attr, _, _ in model.wire_spec:
        value = getattr(model, attr)
        if isinstance(value, BaseModel):
            _touch(value)


def test_first_read_decodes_and_gives_the_real_class() -> None:
    model = Customer.from_dict(BODY)
    assert isinstance(model, Customer)
    assert model.id == "cus_1"
    assert type(model) is Customer
    assert model.created == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.timezone.utc)
    assert isinstance(model.address, Address)
    assert model.address.city == "Lisbon"
    assert type(model.address) is Address
    assert model.address.extra_fields == {"zip": "x"}
    assert model.extra_fields == {"unknown": [1, {"a": None}]}
    assert model.fields_set == frozenset(BODY)
    assert model.to_dict() == BODY


@pytest.mark.parametrize(
    "first_use",
    [
        lambda m: m.to_dict(),
        lambda m: repr(m),
        lambda m: m == Customer.from_dict(BODY),
        lambda m: m.fields_set,
        lambda m: m.extra_fields,
        lambda m: m.spec_mismatches(),
        lambda m: m.to_json(),
        lambda m: pickle.loads(pickle.dumps(m)),
        lambda m: copy.copy(m),
        lambda m: copy.deepcopy(m),
        lambda m: hasattr(m, "nope"),
        lambda m: m.__class__,
    ],
    ids=[
        "to_dict",
        "repr",
        "eq",
        "fields_set",
        "extra_fields",
        "spec_mismatches",
        "to_json",
        "pickle",
        "copy",
        "deepcopy",
        "hasattr",
        "class",
    ],
)
def test_any_first_use_sees_the_eager_model(first_use: Any) -> None:
    eager = _eager(Customer, BODY)
    model = Customer.from_dict(BODY)
    first_use(model)
    assert model == eager
    assert repr(model) == repr(eager)
    assert model.to_dict() == BODY
    assert model.fields_set == eager.fields_set


def test_undecoded_models_compare_print_copy_and_pickle_like_eager_ones() -> None:
    eager = _eager(Customer, BODY)
    assert Customer.from_dict(BODY) == eager
    assert eager == Customer.from_dict(BODY)
    assert Customer.from_dict(BODY) == Customer.from_dict(BODY)
    assert Customer.from_dict(BODY) != Customer.from_dict({**BODY, "email": "b@example.com"})
    assert repr(Customer.from_dict(BODY)) == repr(eager)
    for clone in (
        pickle.loads(pickle.dumps(Customer.from_dict(BODY))),
        copy.copy(Customer.from_dict(BODY)),
        copy.deepcopy(Customer.from_dict(BODY)),
    ):
        assert type(clone) is Customer
        assert clone == eager
        assert clone.to_dict() == BODY
    # a copy of a model whose nested model was never read
    outer = copy.copy(Customer.from_dict(BODY))
    assert outer.address == eager.address
    assert pickle.loads(pickle.dumps(Customer.from_dict(BODY).address)) == eager.address


def test_assignment_before_any_read_is_kept() -> None:
    model = Customer.from_dict(BODY)
    model.email = "new@example.com"
    assert model.email == "new@example.com"
    assert model.name is None and "name" in model.fields_set
    assert model.to_dict() == {**BODY, "email": "new@example.com"}
    nested = Customer.from_dict(BODY)
    nested.address.city = "Porto"  # type: ignore[union-attr]
    assert nested.address is not None and nested.address.line1 == "Rua 1"
    assert nested.to_dict()["address"] == {"city": "Porto", "line1": "Rua 1", "zip": "x"}
    deleted = Customer.from_dict(BODY)
    del deleted.email
    with pytest.raises(AttributeError):
        deleted.email  # noqa: B018


def test_missing_attributes_raise_attribute_error() -> None:
    model = Customer.from_dict(BODY)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        model.nope  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        model.nope  # type: ignore[attr-defined]  # noqa: B018
    built = Customer(id="x")
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        built.nope  # type: ignore[attr-defined]  # noqa: B018


@pytest.mark.parametrize("body", [None, [], [("id", "x")], "id", 5, b"{}"])
def test_a_non_object_fails_at_once(body: Any) -> None:
    with pytest.raises(ResponseValidationError, match="Customer"):
        Customer.from_dict(body)


def test_strict_still_fails_at_once_naming_the_field() -> None:
    with pytest.raises(ResponseValidationError, match=r"Customer\.address\.city"):
        Customer.from_dict_strict({**BODY, "address": {"city": 5}})


def test_threads_racing_on_a_fresh_model_see_it_whole() -> None:
    body = {
        "id": 1,
        "title": "t",
        "created_at": "2024-05-14T09:31:27Z",
        "user": {"login": "octocat", "id": 1},
        "labels": [{"name": "bug"}, "wontfix"],
    }
    eager = _eager(Issue, body)
    for _ in range(50):
        models = [Issue.from_dict(body) for _ in range(20)]
        seen: list[Any] = []
        start = threading.Barrier(4)

        def read(
            models: list[Issue] = models, seen: list[Any] = seen, start: threading.Barrier = start
        ) -> None:
            start.wait()
            for m in models:
                seen.append((m.title, m.created_at, m.user and m.user.login, m.to_dict()))

        threads = [threading.Thread(target=read) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert len(seen) == 80
        assert all(s == ("t", eager.created_at, "octocat", body) for s in seen)
        assert all(m == eager for m in models)


def test_a_model_read_twice_from_the_same_json_shares_nothing_it_decodes() -> None:
    a, b = Customer.from_dict(BODY), Customer.from_dict(BODY)
    assert a.address is not b.address
    assert a.address == b.address
