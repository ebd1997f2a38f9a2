"""The charts of docs/benchmarks.md, as PNGs in docs/benchmarks/, from bench/results/*.json.

    uv run python -m bench.charts

Each chart is drawn when its results are there: fan-out spread against N (sse_fanout*.json),
the dispatch latency histogram (dispatch.json), API latency idle against busy
(api_latency.json), the pipeline's stage breakdown (pipeline_overhead.json) and time to
playable against source length (time_to_playable.json, written by bench/time_to_playable.py).
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # after the backend is chosen

from bench.stack import RESULTS, ROOT

CHARTS = ROOT / "docs" / "benchmarks"
STAGE_COLOURS = {"dispatch": "#d62728", "before FFmpeg": "#ff7f0e", "FFmpeg": "#1f77b4",
                 "after FFmpeg": "#2ca02c"}  # fmt: skip


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def save(figure: plt.Figure, name: str) -> Path:
    CHARTS.mkdir(parents=True, exist_ok=True)
    path = CHARTS / f"{name}.png"
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def fanout_points() -> list[dict[str, Any]]:
    runs = []
    for path in sorted(RESULTS.glob("sse_fanout*.json")):
        if "dev" not in path.stem:
            runs += json.loads(path.read_text())["runs"]
    return sorted(runs, key=lambda r: (r["apis"], r["clients"]))


def fanout_chart() -> Path | None:
    runs = fanout_points()
    if not runs:
        return None
    figure, ax = plt.subplots(figsize=(7, 4))
    for apis, marker in ((1, "o"), (2, "s")):
        mine = [r for r in runs if r["apis"] == apis]
        if not mine:
            continue
        n = [r["clients"] for r in mine]
        label = f"{apis} API process{'es' if apis > 1 else ''}"
        ax.plot(n, [1000 * r["worst_p99_delay_s"] for r in mine], marker=marker,
                label=f"{label}: worst per-event p99")  # fmt: skip
        ax.plot(n, [1000 * r["worst_spread_s"] for r in mine], marker=marker, linestyle="--",
                label=f"{label}: worst spread (first to last client)")  # fmt: skip
    ax.axhline(200, color="grey", linewidth=1, linestyle=":", label="goal: p99 < 200 ms")
    ax.set_xlabel("SSE clients on one item")
    ax.set_ylabel("ms after the first client got the event")
    ax.set_title("SSE fan-out: delivery spread per event")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save(figure, "sse_fanout_spread")


def dispatch_chart() -> Path | None:
    data = load("dispatch")
    if data is None:
        return None
    figure, ax = plt.subplots(figsize=(7, 4))
    top = max(max(v["latencies_s"]) for v in data["variants"]) * 1000
    bins = [b * 10 for b in range(int(top // 10) + 2)]
    for variant in data["variants"]:
        latencies = [1000 * s for s in variant["latencies_s"]]
        label = (f"{variant['variant']} (p50 {statistics.median(latencies):.0f} ms, "
                 f"n={len(latencies)})")  # fmt: skip
        ax.hist(latencies, bins=bins, alpha=0.6, label=label)
    ax.axvline(30, color="grey", linestyle=":", linewidth=1, label="goal: p50 < 30 ms")
    ax.axvline(100, color="grey", linestyle="--", linewidth=1, label="goal: p95 < 100 ms")
    ax.set_xlabel("POST /complete -> first `processing` event (ms, 10 ms bins)")
    ax.set_ylabel("jobs")
    ax.set_title("Dispatch latency: wake-up on enqueue vs arq polling every 0.5 s")
    ax.legend(fontsize=8)
    return save(figure, "dispatch_histogram")


def api_latency_chart() -> Path | None:
    data = load("api_latency")
    if data is None:
        return None
    figure, ax = plt.subplots(figsize=(8, 4))
    labels, p50, p99 = [], [], []
    for variant in data["variants"]:
        for phase in ("idle", "busy"):
            for endpoint, name in (("item", "GET /videos/{id}"), ("list", "GET /videos")):
                report = variant[phase][endpoint]
                labels.append(f"{variant['variant']}\n{phase}\n{name}")
                p50.append(1000 * report["latency_s"]["p50"])
                p99.append(1000 * report["latency_s"]["p99"])
    positions = range(len(labels))
    ax.bar([x - 0.2 for x in positions], p50, width=0.4, label="p50")
    ax.bar([x + 0.2 for x in positions], p99, width=0.4, label="p99")
    ax.axhline(50, color="grey", linestyle=":", linewidth=1, label="goal: p99 < 50 ms idle")
    ax.set_xticks(list(positions), labels, fontsize=7)
    ax.set_ylabel("ms")
    ax.set_title(f"API latency, {data['connections']} connections: idle vs two 1080p transcodes")
    ax.legend(fontsize=8)
    return save(figure, "api_latency")


def pipeline_chart() -> Path | None:
    data = load("pipeline_overhead")
    if data is None:
        return None
    figure, ax = plt.subplots(figsize=(7, 3.5))
    rows = []
    for source in data["sources"]:
        median = source["median"]
        rows.append((f"{source['source_seconds']:g} s: raw FFmpeg", {"FFmpeg": median["raw_s"]}))
        rows.append((f"{source['source_seconds']:g} s: through the stack", median["stages_s"]))
    for y, (_, stages) in enumerate(rows):
        left = 0.0
        for stage, seconds in stages.items():
            ax.barh(y, seconds, left=left, color=STAGE_COLOURS[stage],
                    label=stage if y == 1 else None)  # fmt: skip
            left += seconds
    ax.set_yticks(range(len(rows)), [label for label, _ in rows], fontsize=8)
    ax.set_xlabel("seconds (median of the rounds)")
    ax.set_title("1080p30 video: where the time goes")
    ax.legend(fontsize=8, loc="lower right")
    return save(figure, "pipeline_stages")


def time_to_playable_chart() -> Path | None:
    data = load("time_to_playable")
    if data is None:
        return None
    rows = sorted(data["rows"] if isinstance(data, dict) else data,
                  key=lambda r: r["source_seconds"])  # fmt: skip
    figure, ax = plt.subplots(figsize=(7, 4))
    x = [r["source_seconds"] for r in rows]
    for key, label in (("first_frame_s", "first frame"), ("playable_s", "playable"),
                       ("completed_s", "completed")):  # fmt: skip
        series = [r.get(key) or [] for r in rows]
        if not any(series):
            continue
        middle = [statistics.median(s) if s else float("nan") for s in series]
        low = [m - min(s) if s else 0 for m, s in zip(middle, series, strict=True)]
        high = [max(s) - m if s else 0 for m, s in zip(middle, series, strict=True)]
        ax.errorbar(x, middle, yerr=[low, high], marker="o", capsize=3, label=label)
    ax.set_xlabel("source length (s)")
    ax.set_ylabel("seconds after upload completed")
    ax.set_title("Time to playable (median, min-max)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save(figure, "time_to_playable")


def main() -> None:
    charts = [fanout_chart, dispatch_chart, api_latency_chart, pipeline_chart,
              time_to_playable_chart]  # fmt: skip
    for draw in charts:
        path = draw()
        print(f"{draw.__name__}: {path.relative_to(ROOT) if path else 'no results'}")


if __name__ == "__main__":
    main()
