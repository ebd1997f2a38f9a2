"""wrk, the HTTP load generator the latency benchmarks use: found or installed, run, its report
parsed (pure, unit-tested).

wrk (C, event-driven) is not the bottleneck a Python client would be. Debian and Ubuntu ship
it (`apt-get install wrk`); `ensure_wrk` runs that when it is missing and apt-get is there.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field

UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


@dataclass
class WrkReport:
    requests: int
    seconds: float
    requests_per_s: float
    latency_s: dict[str, float] = field(default_factory=dict)  # "p50", "p75", "p90", "p99"
    errors: int = 0  # non-2xx/3xx answers plus socket errors


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is needed: apt-get install wrk (or build it from its sources)")
    return found


def duration(text: str) -> float:
    """`512.00us`, `7.12ms`, `1.02s`, `1.50m` in seconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match[1]) * UNITS[match[2]]


def parse(output: str) -> WrkReport:
    """wrk's report, as printed with --latency."""
    latency = {
        f"p{m[1]}": duration(m[2])
        for m in re.finditer(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", output, re.MULTILINE)
    }
    totals = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not totals or not rate:
        raise ValueError("not a wrk report:\n" + output)
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    if socket := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        errors += sum(int(n) for n in socket.groups())
    return WrkReport(
        requests=int(totals[1]),
        seconds=float(totals[2]) * UNITS[totals[3]],
        requests_per_s=float(rate[1]),
        latency_s=latency,
        errors=errors,
    )


def run(
    url: str, *, connections: int, seconds: float, headers: dict[str, str], threads: int = 2
) -> WrkReport:
    argv = [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    done = subprocess.run([*argv, url], capture_output=True, text=True, check=True)
    return parse(done.stdout)
