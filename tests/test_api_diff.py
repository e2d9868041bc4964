"""The API change report: real Stripe 2022-11-15 → 2023-08-16 differences, and the rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from generator._build import build_provider
from generator._diff import Change, compare_types, diff_providers, render_markdown
from generator._ir import (
    Body,
    ListTy,
    LiteralTy,
    MapTy,
    ModelTy,
    NullableTy,
    Operation,
    Param,
    PrimTy,
    Provider,
    Resource,
    Response,
    UnionTy,
)
from generator._pins import load_providers

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def stripe_pair() -> tuple[Provider, Provider]:
    settings = load_providers()["stripe"]
    return build_provider(settings, settings.pins["2022-11-15"]), build_provider(
        settings, settings.pins["2023-08-16"]
    )


@pytest.fixture(scope="module")
def changes(stripe_pair: tuple[Provider, Provider]) -> list[Change]:
    return diff_providers(*stripe_pair)


def _find(changes: list[Change], subject: str, text: str) -> Change:
    hits = [c for c in changes if c.subject == subject and text in c.text]
    assert len(hits) == 1, (subject, text, [c for c in changes if c.subject == subject])
    return hits[0]


def test_operation_only_in_the_new_spec(changes: list[Change]) -> None:
    c = _find(changes, "`payment_method_domains.create_payment_method_domain`", "new operation")
    assert c.category == "operations" and not c.breaking
    assert "POST /v1/payment_method_domains" in c.text
    assert _find(changes, "`account_sessions.create_account_session`", "new operation")
    assert not [c for c in changes if c.category == "operations" and c.breaking]


def test_new_parameters_are_additive(changes: list[Change]) -> None:
    c = _find(changes, "`terminal.readers.list_readers`", "new query parameter `serial_number`")
    assert c.category == "parameters" and not c.breaking
    assert not _find(changes, "`products.create_product`", "new body field `features`").breaking


def test_enum_values_added_and_removed(changes: list[Change]) -> None:
    added = _find(changes, "`BalanceTransaction.type`", "values added")
    assert added.category == "enums" and not added.breaking
    assert "`obligation_inbound`" in added.text
    # removed from what the API accepts: breaking
    removed = _find(
        changes, "`webhook_endpoints.create_webhook_endpoint` body field `enabled_events`", "values removed"
    )
    assert "`invoiceitem.updated`" in removed.text and removed.breaking
    # removed from what the API returns: listed, not breaking for readers
    gone = _find(changes, "`Dispute.status`", "values removed")
    assert "`charge_refunded`" in gone.text and not gone.breaking
    new_version = _find(
        changes, "`webhook_endpoints.create_webhook_endpoint` body field `api_version`", "added"
    )
    assert "`2023-08-16`" in new_version.text


def test_response_fields_removed_added_and_retyped(changes: list[Change]) -> None:
    removed = _find(changes, "`SetupIntentPaymentMethodOptions`", "field `blik` removed")
    assert removed.category == "models" and removed.breaking
    added = _find(changes, "`Product`", "new field `features")
    assert not added.breaking
    retyped = _find(changes, "`SubscriptionSchedulePhaseConfiguration.invoice_settings`", "type")
    assert retyped.breaking and "InvoiceSettingSubscriptionSchedulePhaseSetting" in retyped.text
    assert not _find(changes, "`PaymentMethodDomain`", "new model").breaking
    widened = _find(changes, "`BalanceTransaction.source`", "may now also be")
    assert "CustomerCashBalanceTransaction" in widened.text


def test_request_union_widening_is_additive(changes: list[Change]) -> None:
    c = _find(
        changes, "`payment_intents.create_payment_intent` body field `mandate_data`", "now also accepts"
    )
    assert not c.breaking


def test_report_markdown(stripe_pair: tuple[Provider, Provider], changes: list[Change]) -> None:
    md = render_markdown("stripe", "2022-11-15", "2023-08-16", changes)
    lines = md.splitlines()
    assert lines[0] == "# stripe: API changes 2022-11-15 → 2023-08-16"
    breaking = sum(c.breaking for c in changes)
    assert f"**{len(changes)} changes: {breaking} breaking, {len(changes) - breaking} non-breaking**" in md
    assert "## Operations (" in md and "## Enum values (" in md
    assert sum(line.startswith("- ") for line in lines) == len(changes)


def test_a_spec_against_itself_reports_nothing(stripe_pair: tuple[Provider, Provider]) -> None:
    old, new = stripe_pair
    assert diff_providers(old, old) == []
    assert diff_providers(new, new) == []
    md = render_markdown("stripe", "2023-08-16", "2023-08-16", [])
    assert "**No changes**" in md and "\n- " not in md


# -- the rules, on small hand-made IRs -----------------------------------------------------


def _op(name: str, path: str, params: list[Param], *, method: str = "get", ok: object = None) -> Operation:
    return Operation(
        operation_id=name,
        method=method,
        path=path,
        resource=("things",),
        name=name,
        summary="",
        description="",
        docs_url="",
        params=params,
        body=None,
        responses=[Response("200", "application/json", "json", ok or PrimTy("str"))],  # type: ignore[arg-type]
    )


def _provider(*ops: Operation) -> Provider:
    root = Resource((), "", "Client", "")
    root.children["things"] = Resource(("things",), "things", "Things", "things", list(ops))
    return Provider("p", "1", "usepolvo.p.v1", "C", {}, "", "", root, {}, 0, 0, 0, 0)


def _q(wire: str, required: bool = False, ty: object = None) -> Param:
    return Param(wire, wire, "query", ty or PrimTy("str"), required)  # type: ignore[arg-type]


def test_rules_on_a_small_ir() -> None:
    old = _provider(
        _op("list_things", "/things", [_q("a"), _q("b"), _q("c", ty=LiteralTy(("x", "y")))]),
        _op("get_thing", "/things/{id}", []),
        _op("old_name", "/things/act", []),
        _op("moved", "/old", []),
    )
    new = _provider(
        _op("list_things", "/things", [_q("a", required=True), _q("c", ty=LiteralTy(("x", "z"))), _q("d")]),
        _op("get_thing", "/things/{id}", [], ok=PrimTy("int")),
        _op("new_name", "/things/act", []),
        _op("moved", "/new", []),
        _op("created", "/things/{id}/x", [], method="post"),
    )
    got = {(c.subject, c.text): c.breaking for c in diff_providers(old, new)}
    assert got == {
        ("`things.list_things`", "query parameter `a` is now required"): True,
        ("`things.list_things`", "query parameter `b` removed"): True,
        ("`things.list_things`", "new query parameter `d`"): False,
        ("`things.list_things` query parameter `c`", "values added: `z`"): False,
        ("`things.list_things` query parameter `c`", "values removed: `y`"): True,
        ("`things.get_thing` returns", "type `str` → `int`"): True,
        ("`things.old_name`", "renamed `things.new_name` (`GET /things/act`)"): True,
        ("`things.moved`", "now calls `GET /new` (was `GET /old`)"): False,
        ("`things.created`", "new operation, `POST /things/{id}/x`"): False,
    }


def test_nullability_and_unions_by_side() -> None:
    s, n = PrimTy("str"), NullableTy(PrimTy("str"))
    assert [c.breaking for c in compare_types(s, n, request=True)] == [False]
    assert [c.breaking for c in compare_types(s, n, request=False)] == [True]
    wide = UnionTy((MapTy(PrimTy("Any")), LiteralTy(("",))))
    assert [c.breaking for c in compare_types(MapTy(PrimTy("Any")), wide, request=True)] == [False]
    assert [c.breaking for c in compare_types(wide, MapTy(PrimTy("Any")), request=True)] == [True]
    listed = compare_types(ListTy(LiteralTy(("a",))), ListTy(LiteralTy(("a", "b"))), request=False)
    assert [(c.kind, c.breaking) for c in listed] == [("enum", False)]
    assert [c.kind for c in compare_types(ModelTy("A"), ModelTy("B"), request=False)] == ["type"]
    assert compare_types(ModelTy("A"), ModelTy("A"), request=False) == []


def test_body_fields_newly_required_are_breaking() -> None:
    old = _op("create", "/things", [], method="post")
    new = _op("create", "/things", [], method="post")
    old.body = Body("application/json", "json", True, [Param("x", "x", "body", PrimTy("str"), False)])
    new.body = Body(
        "application/json",
        "json",
        True,
        [Param("x", "x", "body", PrimTy("str"), True), Param("y", "y", "body", PrimTy("int"), True)],
    )
    got = {(c.subject, c.text): c.breaking for c in diff_providers(_provider(old), _provider(new))}
    assert got == {
        ("`things.create`", "body field `x` is now required"): True,
        ("`things.create`", "new required body field `y`"): True,
    }


def test_cli_prints_and_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "generator",
            "api-diff",
            "--provider",
            "stripe",
            "--from",
            "2022-11-15",
            "--to",
            "2023-08-16",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == out.read_text()
    assert proc.stdout.startswith("# stripe: API changes 2022-11-15 → 2023-08-16")
    assert "report written to" in proc.stderr
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "generator",
            "api-diff",
            "--provider",
            "stripe",
            "--from",
            "1999-01-01",
            "--to",
            "2023-08-16",
            "--out",
            str(tmp_path / "x.md"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "no pin '1999-01-01'" in bad.stderr
