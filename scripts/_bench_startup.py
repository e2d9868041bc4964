"""Start-up cost of a client, measured fairly: ``make bench``'s import section, or on its own.

    .venv/bin/python scripts/_bench_startup.py          # starts its own bench server

What each figure is, per provider, in a fresh interpreter (``python -c``):

- **import + client + first call**: ``import asyncio``, import the client class, then in one
  ``asyncio.run``: build the client, one typed GET against the bench server on 127.0.0.1
  (the realistic payload of ``_bench_payloads.TARGETS``), close the client. That is event
  loop creation, the connection pool, one TCP connect and round trip, and decoding.
- **raw httpx**: exactly the same work with ``httpx.AsyncClient`` + ``.json()`` on the same
  path and payload, so the ratio says what polvo adds.
- **client import**: ``from usepolvo.<p> import <Client>`` alone.
- **interpreter start-up**: CPU the process used before its first line ran (``site``, the
  ``.pth`` hooks of the environment). It is the same for every case, so it is reported on
  its own and left out of the figures above.

Times are CPU of the child process (``time.process_time``, every thread included) from its
first line to its last: on a shared machine wall time is mostly waiting for a core, and is
printed alongside. Byte-code: every case runs once first with ``PYTHONDONTWRITEBYTECODE``
dropped, which writes the ``.pyc`` of exactly the modules it imports (an installed package
has them); the measured runs then keep ``PYTHONDONTWRITEBYTECODE=1`` and each child checks
that every module it loaded from source came from an up-to-date cache (``cold`` counts the
ones that did not; it must be 0). Runs interleave every case round by round, so raw and
polvo see the same machine state; figures are medians over ``BENCH_PROCESS_RUNS`` rounds,
ratios the median of the per-round ratios.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _bench_payloads import TARGETS  # noqa: E402

RUNS = int(os.environ.get("BENCH_PROCESS_RUNS", "7"))
CLIENTS = {"stripe": "StripeClient", "github": "GitHubClient", "openai": "OpenAIClient"}
#: the typed GET of each provider on the path ``TARGETS`` names
FIRST_CALL = {
    "stripe": 'c.customers.retrieve_customer("cus_bench")',
    "github": 'c.issues.get("o", "r", 1)',
    "openai": 'c.files.retrieve_file("file-bench")',
}

_HEAD = "import time; c0 = time.process_time(); t0 = time.perf_counter()\n"
# After the work: CPU and wall since the first line, the start-up CPU before it, and how
# many loaded modules did not come from an up-to-date byte-code cache.
_TAIL = """
c1 = time.process_time(); t1 = time.perf_counter()
import sys as _s, os as _o, json as _j
def _cold():
    from importlib.util import MAGIC_NUMBER
    n = 0
    for m in list(_s.modules.values()):
        spec = getattr(m, "__spec__", None)
        src = getattr(spec, "origin", None)
        if not spec or not src or not src.endswith(".py") or not spec.cached:
            continue
        try:
            with open(spec.cached, "rb") as f:
                h = f.read(16)
            st = _o.stat(src)
            fresh = h[:4] == MAGIC_NUMBER and (
                int.from_bytes(h[4:8], "little") != 0
                or (int.from_bytes(h[8:12], "little") == int(st.st_mtime) & 0xFFFFFFFF
                    and int.from_bytes(h[12:16], "little") == st.st_size & 0xFFFFFFFF))
            n += not fresh
        except OSError:
            n += 1
    return n
print(_j.dumps({"cpu": (c1 - c0) * 1000, "wall": (t1 - t0) * 1000, "startup": c0 * 1000,
                "cold": _cold(), "modules": len(_s.modules)}))
"""


def cases(base: str) -> dict[str, str]:
    """Every measured program, by name: ``first:<p>``, ``raw:<p>``, ``import:<p>``, ``empty``."""
    out = {"empty": ""}
    for p, cls in CLIENTS.items():
        path = TARGETS[p][1]
        out[f"first:{p}"] = (
            f"import asyncio\nfrom usepolvo.{p} import {cls}\n"
            "async def go():\n"
            f"    async with {cls}(api_key='sk_live_bench', base_url={base!r}) as c:\n"
            f"        return await {FIRST_CALL[p]}\n"
            "asyncio.run(go())\n"
        )
        out[f"raw:{p}"] = (
            "import asyncio\nimport httpx\n"
            "async def go():\n"
            "    async with httpx.AsyncClient() as c:\n"
            f"        r = await c.get({base + path!r})\n"
            "        r.raise_for_status()\n"
            "        return r.json()\n"
            "asyncio.run(go())\n"
        )
        out[f"import:{p}"] = f"from usepolvo.{p} import {cls}\n"
    return out


def _run(code: str, *, write_bytecode: bool) -> dict[str, float]:
    env = dict(os.environ)
    if write_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    out = subprocess.run(
        [sys.executable, "-c", _HEAD + code + _TAIL],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def measure(base: str, runs: int = RUNS) -> dict[str, dict[str, float]]:
    """Per case: median ``cpu``/``wall``/``startup`` ms, max ``cold``; per provider the
    median per-round ratio of polvo's first call to raw httpx's (``ratio:<p>``)."""
    progs = cases(base)
    for code in progs.values():  # writes the byte-code caches of what each case imports
        _run(code, write_bytecode=True)
    rounds: list[dict[str, dict[str, float]]] = []
    for _ in range(runs):
        rounds.append({name: _run(code, write_bytecode=False) for name, code in progs.items()})
    out: dict[str, dict[str, float]] = {}
    for name in progs:
        rows = [r[name] for r in rounds]
        out[name] = {
            "cpu": statistics.median(r["cpu"] for r in rows),
            "wall": statistics.median(r["wall"] for r in rows),
            "startup": statistics.median(r["startup"] for r in rows),
            "cold": max(r["cold"] for r in rows),
            "modules": rows[-1]["modules"],
        }
    for p in CLIENTS:
        out[f"ratio:{p}"] = {
            "cpu": statistics.median(r[f"first:{p}"]["cpu"] / r[f"raw:{p}"]["cpu"] for r in rounds),
            "wall": statistics.median(r[f"first:{p}"]["wall"] / r[f"raw:{p}"]["wall"] for r in rounds),
        }
    return out


def main() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = subprocess.Popen(
        [sys.executable, str(HERE / "_bench_server.py"), str(port)], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    if server.stdout.readline().strip() != "ready":
        raise SystemExit(f"the bench server did not start (exit {server.wait()})")
    load0 = os.getloadavg()[0]
    try:
        res = measure(f"http://127.0.0.1:{port}")
    finally:
        server.terminate()
        server.communicate(timeout=10)
    print(f"{'case':<16}{'CPU ms':>10}{'wall ms':>10}{'start-up':>10}{'cold':>6}{'modules':>9}")
    for name, r in res.items():
        if name.startswith("ratio:"):
            print(f"{name:<16}{r['cpu']:>9.2f}x{r['wall']:>9.2f}x")
        else:
            print(
                f"{name:<16}{r['cpu']:>10.1f}{r['wall']:>10.1f}{r['startup']:>10.1f}"
                f"{int(r['cold']):>6}{int(r['modules']):>9}"
            )
    print(f"load average {load0:.1f} → {os.getloadavg()[0]:.1f}; {RUNS} rounds")


if __name__ == "__main__":
    main()
