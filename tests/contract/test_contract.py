"""Every generated operation of every pinned spec, checked in process against the spec.

See ``_inprocess``: the request the real client builds is validated against the pinned
spec and the answer, synthesized from the response schema, must parse into the declared
type. Failures are listed by cause; the bar is the issue's (>= 99% of operations pass,
100% exercised), and the Stripe 2023-08-16 pin must pass completely.
"""

from __future__ import annotations

import pytest

from tests.contract._inprocess import run_spec
from tests.contract._schema import operations, pinned, spec_for

SPECS = pinned()

#: every operation (or model) of every pinned spec: minutes, so `make test-slow`
pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("provider", "version"), SPECS, ids=[f"{p}-{v}" for p, v in SPECS])
async def test_every_operation(provider: str, version: str) -> None:
    spec = spec_for(provider, version)
    report = await run_spec(spec)
    failed = [o for o in report.outcomes if o.cause]
    listing = "\n".join(f"{o.cause}: {o.op}: {o.detail[:200]}" for o in failed)
    assert report.total == len(operations(spec))
    assert report.count("exercised") == report.total
    # every operation of every pinned spec: sent as the spec says, answer parsed as declared
    assert not failed, listing
    assert report.count("parsed") == report.total, listing
