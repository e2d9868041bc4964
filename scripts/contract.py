"""`make contract`: the contract coverage report.

1. In process, every operation of every pinned spec (Stripe included): the request the
   generated client builds is validated against the pinned spec, the answer synthesized
   from the response schema must parse into the declared type (tests/contract/_inprocess.py).
2. Model fuzzing summary (tests/contract/_fuzz.py).
3. With `--prism` (and Prism installed by `make prism` in .cache/node): GitHub and OpenAI
   operations sent to a Prism mock started on 127.0.0.1 (`sl-violations` = failure).

Exit status 1 when fewer than 99% of a provider's operations pass in process.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.contract._fuzz import fuzz_spec  # noqa: E402
from tests.contract._inprocess import Outcome, Report, _arguments, _success, run_spec  # noqa: E402
from tests.contract._schema import Spec, conforms, load_specs, operations  # noqa: E402

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


@contextlib.contextmanager
def prism(spec: Spec, port: int) -> Any:
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
            str(spec.doc.path),
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


async def run_prism(spec: Spec, port: int) -> Report:
    import importlib

    import httpx

    from usepolvo.core import APIError

    report = Report(spec.provider, spec.version + "/prism")
    models = importlib.import_module(spec.ir.package + ".models")
    pkg = importlib.import_module(spec.ir.package)
    violations: list[str] = []

    async def hook(response: httpx.Response) -> None:
        v = response.headers.get("sl-violations")
        if v:
            violations.append(v)

    http = httpx.AsyncClient(event_hooks={"response": [hook]}, timeout=30)
    # Prism does not strip the server's base path (OpenAI's /v1): point the client at its root
    client = getattr(pkg, spec.ir.client_class)(
        api_key="test-key",
        base_url=f"http://127.0.0.1:{port}",
        http_client=http,
        max_retries=0,
        rate_limit=None,
    )
    try:
        for chain, op in operations(spec):
            outcome = Outcome(f"{op.method} {op.path} ({'.'.join(chain)}.{op.name})")
            report.outcomes.append(outcome)
            args, kwargs, _ = _arguments(spec, op, 0, 0)
            target: Any = client
            for attr in chain:
                target = getattr(target, attr)
            violations.clear()
            outcome.exercised = True
            try:
                result = getattr(target, op.name)(*args, **kwargs)
                if op.paging is not None:
                    value: Any = (await result).data
                    ok = all(conforms(v, op.paging.item, models) for v in value)
                else:
                    value = await result
                    r = _success(op)
                    ok = r is None or r.kind != "json" or conforms(value, r.ty, models)
                    if hasattr(value, "__aiter__"):
                        [e async for e in value]
            except APIError as exc:
                outcome.cause = "violation" if violations else f"status {getattr(exc, 'status_code', '?')}"
                outcome.detail = (violations[0] if violations else str(exc))[:300]
                continue
            except Exception as exc:  # noqa: BLE001 - a finding
                outcome.cause, outcome.detail = "parse", f"{type(exc).__name__}: {exc}"[:300]
                outcome.accepted = not violations
                continue
            if violations:
                outcome.cause, outcome.detail = "violation", violations[0][:300]
                continue
            outcome.accepted = True
            if not ok:
                outcome.cause, outcome.detail = "type", "not the declared type"
                continue
            outcome.parsed = True
    finally:
        await client.aclose()
        await http.aclose()
    return report


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
        if report.count("parsed") < 0.99 * report.total:
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
        print("\n== Prism (GitHub, OpenAI; fail on sl-violations)")
        if not PRISM.exists():
            print("prism not installed: run `make prism`")
            return 1
        for spec in specs:
            if spec.provider not in ("github", "openai") or not spec.is_default:
                continue
            port = _free_port()
            t = time.perf_counter()
            with prism(spec, port):
                report = asyncio.run(run_prism(spec, port))
            _print_report(report, args.verbose)
            print(f"    ({time.perf_counter() - t:.0f} s)")
    print(f"\ncontract report in {time.perf_counter() - t0:.0f} s")
    return status


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
