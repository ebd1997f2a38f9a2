"""The pure parts of the performance benchmarks: statistics, wrk's report, SSE bytes."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.pipeline_overhead import ffmpeg_runs, paths_under
from bench.sse_client import SSEReader, ids_in
from bench.stats import histogram, percentile, summary, table
from bench.wrk import duration, parse

WRK_REPORT = """\
Running 15s test @ http://127.0.0.1:8000/videos/0b7e4c1a
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.12ms    2.01ms  40.00ms   90.00%
    Req/Sec     1.13k    80.00     1.30k    70.00%
  Latency Distribution
     50%  612.00us
     75%    7.50ms
     90%    8.50ms
     99%    1.02s
  33750 requests in 15.02s, 10.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec:   2247.00
Transfer/sec:      1.00MB
"""


def test_percentiles_interpolate_between_ranks() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([3.0], 99) == 3.0
    assert math.isnan(percentile([], 50))
    stats = summary([0.2, 0.1, 0.3])
    assert stats["n"] == 3 and stats["min"] == 0.1 and stats["p50"] == 0.2 and stats["max"] == 0.3


def test_histogram_counts_every_value_in_its_bucket() -> None:
    assert histogram([0.001, 0.009, 0.010, 0.035], 0.010) == [
        (0.0, 2),
        (0.01, 1),
        (0.02, 0),
        (0.03, 1),
    ]
    assert histogram([], 0.01) == []


def test_table_is_markdown() -> None:
    assert table(["a", "b"], [[1, "x"]]).splitlines() == ["| a | b |", "|---|---|", "| 1 | x |"]


def test_wrk_durations_and_report() -> None:
    assert duration("612.00us") == pytest.approx(612e-6)
    assert duration("7.50ms") == pytest.approx(0.0075)
    assert duration("1.5m") == 90.0
    with pytest.raises(ValueError):
        duration("fast")
    report = parse(WRK_REPORT)
    assert report.requests == 33750 and report.seconds == pytest.approx(15.02)
    assert report.requests_per_s == 2247.0
    assert report.latency_s["p50"] == pytest.approx(612e-6)
    assert report.latency_s["p99"] == pytest.approx(1.02)
    assert report.errors == 5 + 3
    with pytest.raises(ValueError):
        parse("unable to connect to 127.0.0.1:1 Connection refused")


def test_sse_reader_reads_events_across_chunks_and_skips_comments() -> None:
    body = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        b"1d\r\n: connected\r\nretry: 3000\r\n\r\n\r\n"
        b'30\r\nid: 7\r\nevent: status\r\ndata: {"status": "queued"}\r\n\r\n\r\n'
        b": ping\r\n\r\n"
    )
    reader = SSEReader()
    events = []
    for start in range(0, len(body), 17):  # arbitrary splits, inside lines too
        events += reader.feed(body[start : start + 17])
    assert reader.status == 200
    assert [(e.id, e.event, e.data) for e in events] == [(7, "status", {"status": "queued"})]


def test_ids_in_keeps_an_incomplete_line_for_the_next_read() -> None:
    ids, rest = ids_in(b"id: 3\r\nevent: progress\r\ndata: {}\r\n\r\nid: 4\r\nev")
    assert ids == [3, 4] and rest == b"ev"
    ids, rest = ids_in(rest + b"ent: x\r\nid: 1")
    assert ids == [] and rest == b"id: 1"


def test_the_wrapper_log_gives_each_ffmpeg_run(tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    log.write_text("start 11 100.5\nstart 12 101.0\nend 12 101.25\nend 11 110.0\n")
    (tmp_path / "calls.log.11").write_bytes(b"-i\0/tmp/job/source.mp4\0")
    (tmp_path / "calls.log.12").write_bytes(b"-version\0")
    assert ffmpeg_runs(log) == [
        (101.0, 101.25, ["-version"]),
        (100.5, 110.0, ["-i", "/tmp/job/source.mp4"]),
    ]


def test_output_paths_are_found_inside_tee_and_segment_options() -> None:
    args = ["-i", "/w/src.mp4", "[f=segment:segment_list=/w/out/720p/s.csv]/w/out/720p/s_%05d.ts|"
            "[f=mp4]/w/out/video.mp4", "/w/out/poster.jpg"]  # fmt: skip
    assert {p.parent for p in paths_under(args, "/w")} == {
        Path("/w"),
        Path("/w/out/720p"),
        Path("/w/out"),
    }
