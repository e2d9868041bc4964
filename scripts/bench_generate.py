"""Generation time, peak memory and client import time per provider (printed, not asserted).

Each figure comes from a fresh subprocess, so imports and caches of one measurement do not
help the next. Import time is reported over a bare interpreter started the same way.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = {"stripe": "StripeClient", "github": "GitHubClient", "openai": "OpenAIClient"}
IMPORT_RUNS = 5


def _generate(provider: str) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "generator", "--provider", provider, "--out", out, "--force"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        elapsed = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest child so far: report it when it grew
    return elapsed, max(peak, before) / 1024


def _import_ms(statement: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    samples = []
    for _ in range(IMPORT_RUNS):
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
        samples.append(float(out.stdout) * 1000)
    return sorted(samples)[len(samples) // 2]


def _process_ms(statement: str) -> float:
    samples = []
    for _ in range(IMPORT_RUNS):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True, capture_output=True)
        samples.append((time.perf_counter() - t0) * 1000)
    return sorted(samples)[len(samples) // 2]


def main() -> None:
    bare = _process_ms("pass")
    rows = []
    for provider, client in CLIENTS.items():
        gen_s, rss_mb = _generate(provider)
        stmt = f"from usepolvo.{provider} import {client}"
        rows.append(
            {
                "provider": provider,
                "generate_s": round(gen_s, 2),
                "generate_peak_rss_mb": round(rss_mb, 1),
                "import_ms": round(_import_ms(stmt), 1),
                "import_over_bare_ms": round(_process_ms(stmt) - bare, 1),
            }
        )
    print(f"{'provider':<8} {'generate':>9} {'peak RSS':>9} {'import':>8} {'over bare':>10}")
    for r in rows:
        print(
            f"{r['provider']:<8} {r['generate_s']:>8.2f}s {r['generate_peak_rss_mb']:>7.0f}MB "
            f"{r['import_ms']:>6.1f}ms {r['import_over_bare_ms']:>8.1f}ms"
        )
    print(json.dumps({"bare_interpreter_ms": round(bare, 1), "providers": rows}))


if __name__ == "__main__":
    main()
