"""`make contract`: the contract coverage report.

1. In process, every operation of every pinned spec (Stripe included): the request the
   generated client builds is validated against the pinned spec, the answer synthesized
   from the response schema must parse into the declared type (tests/contract/_inprocess.py).
2. Model fuzzing summary (tests/contract/_fuzz.py).
3. With `--prism` (and Prism installed by `make prism` in .cache/node): GitHub and OpenAI
   operations sent to a Prism mock started on 127.0.0.1, serving a copy of the pinned spec
   without hop-by-hop response headers (see ``_HOP_BY_HOP``).

Exit status 1 unless every operation of every spec is accepted and parsed in process and,
with ``--prism``, at least 99% of each provider's operations are accepted by Prism (no
request-side violation, no 4xx) and every answer Prism gives parses. Violations Prism
reports in its *own* generated response (location ``["response", ...]``) are listed and
counted apart, not as our failures.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import attrs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.contract._fuzz import fuzz_spec  # noqa: E402
from tests.contract._inprocess import Outcome, Report, _arguments, _success, run_spec  # noqa: E402
from tests.contract._schema import Spec, conforms, load_specs, operations  # noqa: E402
from usepolvo.core import ResponseValidationError  # noqa: E402

PRISM = ROOT / ".cache" / "node" / "node_modules" / ".bin" / "prism"


def _print_report(report: Report, verbose: int) -> None:
    print(report.line())
    for cause, n in sorted(report.causes().items()):
        print(f"    {cause:<16} {n}")
        shown = [o for o in report.outcomes if o.cause == cause][:verbose]
        for o in shown:
            print(f"        {o.op}: {o.detail[:220]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: Response headers that describe the connection, not the message: a mock must not
#: generate them. OpenAI documents ``Transfer-Encoding: chunked`` on ``POST /audio/speech``
#: (Prism then sends a random ``Transfer-Encoding`` next to a ``Content-Length``, which no
#: HTTP client can read: RemoteProtocolError); GitHub documents ``Content-Length`` on
#: ``POST /markdown``. Prism is fed a copy of the spec without them — the only change made.
_HOP_BY_HOP = frozenset(
    {"connection", "content-length", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"}
)


def _without_hop_headers(node: Any, in_response: bool = False) -> tuple[Any, int]:
    dropped = 0
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for k, v in node.items():
            if in_response and k == "headers" and isinstance(v, dict):
                kept = {h: x for h, x in v.items() if h.lower() not in _HOP_BY_HOP}
                dropped += len(v) - len(kept)
                v = kept
            out[k], n = _without_hop_headers(v, in_response or k == "responses")
            dropped += n
        return out, dropped
    if isinstance(node, list):
        items = [_without_hop_headers(v, in_response) for v in node]
        return [v for v, _ in items], sum(n for _, n in items)
    return node, 0


def prism_spec(spec: Spec) -> tuple[Path, int]:
    """The spec Prism serves: the pinned one minus hop-by-hop response headers."""
    root, dropped = _without_hop_headers(spec.root)
    path = ROOT / ".cache" / f"prism-{spec.provider}-{spec.version}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(root, default=str))
    return path, dropped


@contextlib.contextmanager
def prism(spec: Spec, port: int) -> Any:
    served, _ = prism_spec(spec)
    log = open(ROOT / ".cache" / f"prism-{spec.provider}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            str(PRISM),
            "mock",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--dynamic",
            "--seed",
            "1",
            str(served),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"prism exited with {proc.returncode}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                break
            time.sleep(0.5)
        else:
            raise RuntimeError("prism did not listen within 180 s")
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


_LOCATION = re.compile(r'"location":\s*\[\s*"([^"]*)"')


def _violations(header: str) -> list[dict[str, Any]]:
    """Parse ``sl-violations`` (a JSON list, sometimes after "Too many violations! ")."""
    start = header.find("[")
    with contextlib.suppress(ValueError):
        found = json.loads(header[start:]) if start >= 0 else None
        if isinstance(found, list):
            return [v for v in found if isinstance(v, dict)]
    # truncated ("Too many violations! [..."): keep the locations; none found = request
    locs = _LOCATION.findall(header) or ["request"]
    return [{"location": [loc]} for loc in locs]


@attrs.define
class PrismOutcome(Outcome):
    responded: bool = False  # a 2xx/3xx answer came back (it must parse)
    response_violation: str = ""  # Prism flagging its own generated response
    invented_fields: bool = False  # strict mode found only fields Prism made up (see run_prism)


@attrs.define
class PrismReport(Report):
    def line(self) -> str:
        rv = sum(1 for o in self.outcomes if isinstance(o, PrismOutcome) and o.response_violation)
        return f"{super().line()}  prism response violations {rv:>3}"


async def run_prism(spec: Spec, port: int) -> PrismReport:
    """Every operation against Prism. A request Prism rejects (a 4xx, or an ``sl-violations``
    entry located in the request) is our failure; a violation located in the response is
    Prism's own generated data disagreeing with its spec, counted apart — the SDK must still
    parse that response."""
    import importlib

    import httpx

    from usepolvo.core import APIConnectionError

    report = PrismReport(spec.provider, spec.version + "/prism")
    models = importlib.import_module(spec.ir.package + ".models")
    pkg = importlib.import_module(spec.ir.package)
    seen: list[httpx.Response] = []

    async def hook(response: httpx.Response) -> None:
        seen.append(response)
        if response.status_code >= 400:
            await response.aread()

    async def negotiate(request: httpx.Request) -> None:
        # Prism answers 406 to a media type the spec does not list; GitHub itself answers
        # the `Accept: application/vnd.github+json` it advises (issue 11) with application/json
        if request.headers.get("accept") == "application/vnd.github+json":
            request.headers["accept"] = "application/json"

    http = httpx.AsyncClient(event_hooks={"request": [negotiate], "response": [hook]}, timeout=30)
    # Prism does not strip the server's base path (OpenAI's /v1): point the client at its root
    client = getattr(pkg, spec.ir.client_class)(
        api_key="test-key",
        base_url=f"http://127.0.0.1:{port}",
        http_client=http,
        max_retries=0,
        rate_limit=None,
        strict=True,  # Prism's answers must match the spec exactly (issue 11)
    )
    # Prism's dynamic answers add made-up fields wherever a schema leaves
    # additionalProperties open, which the spec allows; strict mode reports every field the
    # spec does not list. A strict failure made only of such fields is checked again with a
    # lenient client (the rest must still conform) and counted apart.
    lenient = getattr(pkg, spec.ir.client_class)(
        api_key="test-key",
        base_url=f"http://127.0.0.1:{port}",
        http_client=http,
        max_retries=0,
        rate_limit=None,
    )
    try:
        for chain, op in operations(spec):
            outcome = PrismOutcome(f"{op.method} {op.path} ({'.'.join(chain)}.{op.name})")
            report.outcomes.append(outcome)
            args, kwargs, _ = _arguments(spec, op, 0, 0)
            outcome.exercised = True
            ok, error = await _call(client, chain, op, args, kwargs, seen, models)
            invented = error is not None and _only_invented_fields(error)
            if invented or (error is not None and _prism_flagged_its_answer(error, seen)):
                outcome.invented_fields = invented
                ok, error = await _call(lenient, chain, op, args, kwargs, seen, models)
            request_v: list[str] = []
            response_v: list[str] = []
            for resp in seen:
                header = resp.headers.get("sl-violations")
                if header:
                    locs = [(v.get("location") or ["request"])[0] for v in _violations(header)]
                    (request_v if any(loc != "response" for loc in locs) else response_v).append(header)
            last = seen[-1] if seen else None
            if response_v:
                outcome.response_violation = response_v[0][:300]
            if request_v:
                outcome.cause, outcome.detail = "request violation", request_v[0][:300]
                continue
            if isinstance(error, APIConnectionError) or last is None:
                outcome.cause = "transport"
                outcome.detail = f"{type(error).__name__}: {error}"[:300]
                continue
            if last.status_code >= 400:  # a documented 3xx (GitHub's archive downloads) is an answer
                body = last.text if last.is_stream_consumed else ""
                outcome.cause = f"rejected {last.status_code}"
                outcome.detail = f"{error}; {body}"[:300]
                continue
            outcome.accepted = True
            outcome.responded = True
            if error is not None:
                outcome.cause, outcome.detail = "parse", f"{type(error).__name__}: {error}"[:300]
                continue
            if not ok:
                outcome.cause, outcome.detail = "type", "not the declared type"
                continue
            outcome.parsed = True
    finally:
        await client.aclose()
        await lenient.aclose()
        await http.aclose()
    return report


async def _call(
    root: Any, chain: tuple[str, ...], op: Any, args: Any, kwargs: Any, seen: list[Any], models: Any
) -> tuple[bool, BaseException | None]:
    """Send ``op`` through ``root`` (the strict or the lenient client): (conforms, error)."""
    target: Any = root
    for attr in chain:
        target = getattr(target, attr)
    seen.clear()
    try:
        result = getattr(target, op.name)(*args, **kwargs)
        if op.paging is not None:
            page = (await result).data
            return all(conforms(v, op.paging.item, models) for v in page), None
        value = await result
        r = _success(op)
        if hasattr(value, "__aiter__"):
            [e async for e in value]
        return r is None or r.kind != "json" or conforms(value, r.ty, models), None
    except Exception as exc:  # noqa: BLE001 - classified by the caller
        return False, exc


def _prism_flagged_its_answer(error: BaseException, seen: list[Any]) -> bool:
    """A strict-mode error on an answer Prism itself reports as off its spec (``sl-violations``
    on the response): counted as Prism's response violation, read leniently like before."""
    return isinstance(error, ResponseValidationError) and any(
        r.headers.get("sl-violations") and "response" in r.headers["sl-violations"] for r in seen
    )


def _only_invented_fields(error: BaseException) -> bool:
    """A strict-mode error listing only fields the spec does not name (see ``run_prism``)."""
    if not isinstance(error, ResponseValidationError):
        return False
    parts = [p for p in re.split(r";\s*", str(error)) if p.strip()]
    return bool(parts) and all("field not in the spec" in p for p in parts)


def _print_prism(report: PrismReport, verbose: int) -> None:
    _print_report(report, verbose)
    rv = [o for o in report.outcomes if isinstance(o, PrismOutcome) and o.response_violation]
    invented = [o for o in report.outcomes if isinstance(o, PrismOutcome) and o.invented_fields]
    if invented:
        print(
            f"    {'fields Prism invented (open schemas; read leniently, rest conforms)':<16} {len(invented)}"
        )
    if rv:
        print(f"    {'prism response violation (not ours; responses still parsed)':<16} {len(rv)}")
        for o in rv[:verbose]:
            print(f"        {o.op}: {o.response_violation[:220]}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--verbose", "-v", type=int, default=3, help="failures listed per cause")
    ap.add_argument("--prism", action="store_true", help="also run GitHub and OpenAI against Prism")
    ap.add_argument("--fuzz-examples", type=int, default=2)
    args = ap.parse_args()
    t0 = time.perf_counter()
    specs = load_specs()
    status = 0
    print("== in-process contract (request validated against the pinned spec, response parsed)")
    for spec in specs:
        report = asyncio.run(run_spec(spec))
        _print_report(report, args.verbose)
        if report.count("accepted") < report.total or report.count("parsed") < report.total:
            status = 1
    print("\n== model fuzzing (from_dict raises only ResponseValidationError; to_dict round trip)")
    for spec in specs:
        fr = fuzz_spec(spec, examples=args.fuzz_examples)
        print(fr.line())
        causes: collections.Counter[str] = fr.causes()
        for cause, n in sorted(causes.items()):
            print(f"    {cause:<16} {n}")
            for m, _, d in [f for f in fr.failures if f[1] == cause][: args.verbose]:
                print(f"        {m}: {d[:220]}")
    if args.prism:
        print(
            "\n== Prism (GitHub, OpenAI): request rejected or flagged = our failure; "
            "Prism flagging its own response = counted apart, must still parse"
        )
        if not PRISM.exists():
            print("prism not installed: run `make prism`")
            return 1
        for spec in specs:
            if spec.provider not in ("github", "openai") or not spec.is_default:
                continue
            port = _free_port()
            t = time.perf_counter()
            with prism(spec, port):
                preport = asyncio.run(run_prism(spec, port))
            _print_prism(preport, args.verbose)
            responded = sum(1 for o in preport.outcomes if isinstance(o, PrismOutcome) and o.responded)
            accepted_ok = preport.count("accepted") >= 0.99 * preport.total
            parsed_ok = preport.count("parsed") == responded
            print(
                f"    ({time.perf_counter() - t:.0f} s)  accepted {preport.count('accepted')}/{preport.total}"
                f" (bar 99%: {'ok' if accepted_ok else 'FAIL'}), parsed {preport.count('parsed')}/{responded}"
                f" answered (bar 100%: {'ok' if parsed_ok else 'FAIL'})"
            )
            if not (accepted_ok and parsed_ok):
                status = 1
    print(f"\ncontract report in {time.perf_counter() - t0:.0f} s")
    return status


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
