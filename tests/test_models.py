"""Generated Stripe models: lossless round trips on real-world shapes, clear errors."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import orjson
import pytest
from usepolvo.stripe import models
from usepolvo.stripe.models import Card, Charge, Customer, DeletedCustomer, Discount, Error

from tests.servers.stripe import StripeServer
from usepolvo.core import ResponseValidationError

CARD: dict[str, Any] = {
    "id": "card_1NXrLoLkdIwHu7ixBuAdyKq4",
    "object": "card",
    "address_city": None,
    "address_country": None,
    "address_line1": None,
    "address_line1_check": None,
    "address_line2": None,
    "address_state": None,
    "address_zip": "94103",
    "address_zip_check": "pass",
    "brand": "Visa",
    "country": "US",
    "customer": "cus_NffrFeUfNV2Hib",
    "cvc_check": "pass",
    "dynamic_last4": None,
    "exp_month": 8,
    "exp_year": 2027,
    "fingerprint": "Xt5EWLLDS7FJjR1c",
    "funding": "credit",
    "last4": "4242",
    "metadata": {},
    "name": "Jenny Rosen",
    "tokenization_method": None,
    "wallet": None,  # not in the 2023-08-16 card schema: kept as an extra field
}

DISCOUNT: dict[str, Any] = {
    "id": "di_1NXrMnLkdIwHu7ixmnJ2fCpq",
    "object": "discount",
    "checkout_session": None,
    "coupon": {
        "id": "25OFF",
        "object": "coupon",
        "amount_off": None,
        "created": 1_691_000_000,
        "currency": None,
        "duration": "repeating",
        "duration_in_months": 3,
        "livemode": False,
        "max_redemptions": None,
        "metadata": {"campaign": "summer"},
        "name": "25% off",
        "percent_off": 25.5,
        "redeem_by": None,
        "times_redeemed": 1,
        "valid": True,
    },
    "customer": "cus_NffrFeUfNV2Hib",
    "end": 1_699_000_000,
    "invoice": None,
    "invoice_item": None,
    "promotion_code": None,
    "start": 1_692_144_000,
    "subscription": None,
}

CUSTOMER: dict[str, Any] = {
    "id": "cus_NffrFeUfNV2Hib",
    "object": "customer",
    "address": {
        "city": "San Francisco",
        "country": "US",
        "line1": "510 Townsend St",
        "line2": None,
        "postal_code": "94103",
        "state": "CA",
    },
    "balance": -1250,
    "created": 1_680_893_993,
    "currency": "usd",
    "default_source": "card_1NXrLoLkdIwHu7ixBuAdyKq4",
    "delinquent": False,
    "description": "Our first customer",
    "discount": DISCOUNT,
    "email": "jennyrosen@example.com",
    "invoice_credit_balance": {"usd": 1250},
    "invoice_prefix": "0759376C",
    "invoice_settings": {
        "custom_fields": [{"name": "PO number", "value": "PO-1234"}],
        "default_payment_method": "pm_1NXrMTLkdIwHu7ixQvVtbBLm",
        "footer": None,
        "rendering_options": {"amount_tax_display": "include_inclusive_tax"},
    },
    "livemode": False,
    "metadata": {"order_id": "6735"},
    "name": "Jenny Rosen",
    "next_invoice_sequence": 2,
    "phone": None,
    "preferred_locales": ["en", "de"],
    "shipping": None,
    "sources": {
        "object": "list",
        "data": [CARD],
        "has_more": False,
        "url": "/v1/customers/cus_NffrFeUfNV2Hib/sources",
    },
    "tax_exempt": "none",
    "test_clock": None,
}

TEST_CLOCK: dict[str, Any] = {
    "id": "clock_1NXrN3LkdIwHu7ixTFrwAZ2h",
    "object": "test_helpers.test_clock",
    "created": 1_690_000_000,
    "deletes_after": 1_690_604_800,
    "frozen_time": 1_690_000_000,
    "livemode": False,
    "name": "Annual renewal",
    "status": "ready",
}


def _with(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(CUSTOMER)
    data.update(changes)
    return data


def test_customer_round_trip() -> None:
    original = copy.deepcopy(CUSTOMER)
    customer = Customer.from_dict(CUSTOMER)

    assert customer.to_dict() == original
    assert original == CUSTOMER  # from_dict does not mutate its input
    assert orjson.loads(customer.to_json()) == original

    assert customer.created == dt.datetime(2023, 4, 7, 18, 59, 53, tzinfo=dt.timezone.utc)
    assert customer.default_source == "card_1NXrLoLkdIwHu7ixBuAdyKq4"
    assert isinstance(customer.discount, Discount)
    assert customer.discount.coupon.percent_off == 25.5
    assert customer.discount.start.tzinfo is not None
    assert customer.invoice_settings.default_payment_method == "pm_1NXrMTLkdIwHu7ixQvVtbBLm"
    assert customer.invoice_settings.custom_fields[0].name == "PO number"
    assert customer.invoice_settings.rendering_options.amount_tax_display == "include_inclusive_tax"
    assert isinstance(customer.sources.data[0], Card)
    assert customer.sources.data[0].extra_fields == {"wallet": None}
    assert customer.shipping is None
    assert customer.cash_balance is None  # absent reads None, and stays absent
    assert "cash_balance" not in customer.fields_set
    assert "cash_balance" not in customer.to_dict()
    assert customer.spec_mismatches() == ["Customer.sources.data[0].wallet: field not in the spec"]


def test_expandable_field_as_an_expanded_object() -> None:
    data = _with(default_source=copy.deepcopy(CARD), test_clock=copy.deepcopy(TEST_CLOCK))
    customer = Customer.from_dict(data)

    assert isinstance(customer.default_source, Card)
    assert customer.default_source.last4 == "4242"
    assert customer.default_source.exp_year == 2027
    assert isinstance(customer.test_clock, models.TestHelpersTestClock)
    assert customer.test_clock.frozen_time == dt.datetime(2023, 7, 22, 4, 26, 40, tzinfo=dt.timezone.utc)
    assert customer.to_dict() == data


def test_expanded_object_of_another_kind() -> None:
    bank_account = {
        "id": "ba_1NXrOQLkdIwHu7ixUSgmoh4U",
        "object": "bank_account",
        "account_holder_name": "Jenny Rosen",
        "account_holder_type": "individual",
        "account_type": None,
        "bank_name": "STRIPE TEST BANK",
        "country": "US",
        "currency": "usd",
        "customer": "cus_NffrFeUfNV2Hib",
        "fingerprint": "1JWtPxqbdX5Gamtc",
        "last4": "6789",
        "metadata": {},
        "routing_number": "110000000",
        "status": "new",
    }
    data = _with(default_source=bank_account)
    customer = Customer.from_dict(data)
    assert isinstance(customer.default_source, models.BankAccount)
    assert customer.to_dict() == data


def test_unknown_enum_values_are_kept() -> None:
    data = _with(tax_exempt="partially_exempt")
    data["discount"]["coupon"]["duration"] = "weekly"
    customer = Customer.from_dict(data)
    assert customer.tax_exempt == "partially_exempt"
    assert customer.discount.coupon.duration == "weekly"
    assert customer.to_dict() == data


def test_unknown_fields_are_kept() -> None:
    data = _with(x_loyalty={"tier": "gold", "points": [1, 2, 3]}, shiny_new_flag=True)
    data["address"]["district"] = "SoMa"
    customer = Customer.from_dict(data)
    assert customer.extra_fields == {
        "x_loyalty": {"tier": "gold", "points": [1, 2, 3]},
        "shiny_new_flag": True,
    }
    assert customer.address.extra_fields == {"district": "SoMa"}
    assert customer.to_dict() == data


def test_null_nullable_fields() -> None:
    data = _with(email=None, name=None, address=None, discount=None, default_source=None, currency=None)
    customer = Customer.from_dict(data)
    assert customer.email is None
    assert customer.address is None
    assert customer.discount is None
    assert customer.default_source is None
    assert customer.to_dict() == data


def test_minimal_customer() -> None:
    data = {"id": "cus_1", "object": "customer", "created": 0, "livemode": True}
    customer = Customer.from_dict(data)
    assert customer.created == dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    assert customer.email is None
    assert customer.to_dict() == data


def test_empty_object_reads_and_strict_names_the_missing_field() -> None:
    customer = Customer.from_dict({})
    assert customer.id is None and customer.created is None
    assert customer.to_dict() == {}
    with pytest.raises(ResponseValidationError, match="Customer") as info:
        Customer.from_dict_strict({})
    assert "Customer.created" in str(info.value)
    assert "missing" in str(info.value)
    assert info.value.path == "Customer.created"


def test_missing_id_is_named_in_strict_mode() -> None:
    data = {"object": "customer", "created": 1, "livemode": False}
    assert Customer.from_dict(data).to_dict() == data
    with pytest.raises(ResponseValidationError, match=r"Customer\.id"):
        Customer.from_dict_strict(data)


def test_nested_error_names_the_path_in_strict_mode() -> None:
    card = {k: v for k, v in CARD.items() if k != "brand"}
    data = _with(default_source=card)
    customer = Customer.from_dict(data)
    assert isinstance(customer.default_source, Card) and customer.default_source.brand is None
    assert customer.to_dict() == data
    with pytest.raises(ResponseValidationError) as info:
        Customer.from_dict_strict(data)
    assert "Customer.default_source.brand: required field is missing" in str(info.value)


@pytest.mark.parametrize("created", ["yesterday", None, 1e300, True, 1.5])
def test_bad_timestamps_are_kept_as_sent_and_rejected_in_strict_mode(created: object) -> None:
    data = _with(created=created)
    customer = Customer.from_dict(data)
    assert customer.created is created or customer.created == created
    assert customer.to_dict() == data
    with pytest.raises(ResponseValidationError, match=r"Customer\.created"):
        Customer.from_dict_strict(data)


def test_not_an_object_is_a_validation_error() -> None:
    with pytest.raises(ResponseValidationError, match="Customer"):
        Customer.from_dict(["cus_1"])  # type: ignore[arg-type]


def test_deleted_customer_and_error_round_trip() -> None:
    deleted = {"id": "cus_1", "object": "customer", "deleted": True}
    assert DeletedCustomer.from_dict(deleted).to_dict() == deleted

    body = {
        "error": {
            "code": "resource_missing",
            "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
            "message": "No such customer: 'x'",
            "param": "id",
            "request_log_url": "https://dashboard.stripe.com/test/logs/req_123",
            "type": "invalid_request_error",
        }
    }
    error = Error.from_dict(body)
    assert error.error.message == "No such customer: 'x'"
    assert error.to_dict() == body


def test_seeded_test_server_objects_round_trip() -> None:
    server = StripeServer(customers=30, charges=30)  # not started: only its seed is used
    for n in range(1, 31):
        customer = server.customer(f"cus_{n:05d}")
        charge = server.charge(f"ch_{n:05d}")
        assert customer is not None and charge is not None
        assert Customer.from_dict(customer).to_dict() == customer
        parsed = Charge.from_dict(charge)
        assert parsed.to_dict() == charge
        assert parsed.extra_fields == {}


def test_models_index_is_lazy_and_stable() -> None:
    assert models.Customer is Customer
    assert "Customer" in models.__all__
    assert "Customer" in dir(models)
    with pytest.raises(AttributeError):
        _ = models.NoSuchModel
