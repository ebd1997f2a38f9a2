"""FFmpeg arguments for the one-pass ladder (HLS + MP4 + poster) and the HLS master playlist."""

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reelay_core.media.ladder import Rung
from reelay_core.media.probe import CODEC_WHITELIST, FORMAT_WHITELIST, input_source

MASTER_PLAYLIST = "master.m3u8"
SEGMENT_LIST = "segments.csv"
MP4_FILE = "video.mp4"
POSTER_FILE = "poster.jpg"
POSTER_MAX_WIDTH = 1280
# Slow-motion phone video (120/240 fps) is played at 60 at most; more only costs encoding.
MAX_FRAME_RATE = 60.0
AUDIO_CODEC = "mp4a.40.2"  # AAC-LC
# Declared bandwidth includes MPEG-TS packet overhead (about 5-10 %).
_TS_OVERHEAD = 1.1

# Output paths go inside the tee muxer's spec, whose own syntax uses : | [ ] ' \ , and =.
# The worker chooses out_dir (a temp dir), so refusing those characters is simpler than
# escaping them twice.
_SAFE_DIR = re.compile(r"[A-Za-z0-9_./+@-]+")


@dataclass(frozen=True)
class OutputLayout:
    """Files one transcode leaves in out_dir, as paths relative to it."""

    master: str
    playlists: Mapping[str, str]  # rung name -> "720p/index.m3u8"; segments sit beside it
    # rung name -> "720p/segments.csv": FFmpeg appends a line as it closes each segment. The
    # playlists are ours, written from these lists (see reelay_core.media.playlists).
    segment_lists: Mapping[str, str]
    mp4: str
    poster: str
    directories: tuple[str, ...]  # must exist before FFmpeg starts: hls does not create them


def output_layout(ladder: list[Rung]) -> OutputLayout:
    return OutputLayout(
        master=MASTER_PLAYLIST,
        playlists={r.name: f"{r.name}/index.m3u8" for r in ladder},
        segment_lists={r.name: f"{r.name}/{SEGMENT_LIST}" for r in ladder},
        mp4=MP4_FILE,
        poster=POSTER_FILE,
        directories=tuple(r.name for r in ladder),
    )


def poster_time(duration: float) -> float:
    """A tenth into the video (past fade-ins), at most 5 s, always before the last frame."""
    return round(min(duration * 0.1, 5.0), 3)


def poster_size(top: Rung) -> tuple[int, int]:
    if top.width <= POSTER_MAX_WIDTH:
        return top.width, top.height
    height = max(2, round(top.height * POSTER_MAX_WIDTH / top.width / 2) * 2)
    return POSTER_MAX_WIDTH, height


def h264_level(width: int, height: int, frame_rate: float, maxrate: int) -> int:
    """The lowest H.264 level (x10, e.g. 40 for 4.0) whose limits fit the rung (Table A-1).

    We set it explicitly so the CODECS in the master playlist is exactly what x264 wrote.
    """
    frame_rate = min(frame_rate, MAX_FRAME_RATE)
    mbs = math.ceil(width / 16) * math.ceil(height / 16)
    for level, max_mbps, max_fs, max_kbps in _LEVELS:
        side_limit = math.sqrt(8 * max_fs)
        if (
            mbs <= max_fs
            and math.ceil(width / 16) <= side_limit
            and math.ceil(height / 16) <= side_limit
            and mbs * frame_rate <= max_mbps
            and maxrate <= max_kbps * 1250  # High profile: 1.25 x the Baseline bitrate
        ):
            return level
    return _LEVELS[-1][0]


# (level, MaxMBPS, MaxFS, MaxBR kbit/s); below 3.0 is not worth a separate case.
_LEVELS = (
    (30, 40_500, 1_620, 10_000),
    (31, 108_000, 3_600, 14_000),
    (32, 216_000, 5_120, 20_000),
    (40, 245_760, 8_192, 20_000),
    (41, 245_760, 8_192, 50_000),
    (42, 522_240, 8_704, 50_000),
    (50, 589_824, 22_080, 135_000),
    (51, 983_040, 36_864, 240_000),
    (52, 2_073_600, 36_864, 240_000),
)


def video_codec_tag(rung: Rung, frame_rate: float) -> str:
    """RFC 6381 codec string: avc1 + High profile (0x64) + no constraint flags + level."""
    return f"avc1.6400{h264_level(rung.width, rung.height, frame_rate, rung.maxrate):02x}"


def build_master_playlist(ladder: list[Rung], has_audio: bool, *, frame_rate: float) -> str:
    """The HLS master playlist, written by us rather than by FFmpeg's `master_pl_name`.

    Each rung goes through its own hls muxer inside `tee` (so the top rung can also feed the
    MP4), and each of those would write a master naming only itself. Writing it here also
    keeps BANDWIDTH and CODECS tied to the ladder and the levels we gave x264.
    """
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for rung in ladder:
        audio = rung.audio_bitrate if has_audio else 0
        codecs = video_codec_tag(rung, frame_rate) + (f",{AUDIO_CODEC}" if has_audio else "")
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={round((rung.maxrate + audio) * _TS_OVERHEAD)},"
            f"AVERAGE-BANDWIDTH={round((rung.video_bitrate + audio) * _TS_OVERHEAD)},"
            f'RESOLUTION={rung.width}x{rung.height},CODECS="{codecs}"'
        )
        lines.append(f"{rung.name}/index.m3u8")
    return "\n".join(lines) + "\n"


def build_transcode_args(
    ffmpeg: str,
    source: str,
    out_dir: str,
    ladder: list[Rung],
    *,
    has_audio: bool,
    frame_rate: float,
    poster_at: float,
    preset: str = "veryfast",
    segment_seconds: int = 6,
    init_seconds: float = 0.0,
    limit_seconds: float | None = None,
) -> list[str]:
    """One FFmpeg process for the whole ladder: decode once, `split`, encode each rung once.

    Every rung's encoded streams go to a `tee` muxer: one segmenter per rung, and the top
    rung's streams to an MP4 slave as well, so that rung is not encoded twice. The poster is a
    further branch of the same filter graph. `limit_seconds` caps how much is read, for files
    whose real length exceeds what their header claims. With it, the first segment lasts
    `init_seconds` (a player can start as soon as it exists), the others `segment_seconds`.
    """
    out_dir = checked_out_dir(out_dir, ladder)
    cuts = segment_cuts(limit_seconds, segment_seconds, init_seconds)
    slaves = [
        *(
            hls_slave(
                out_dir, i, rung, has_audio, segment_seconds, cuts=cuts, frame_rate=frame_rate
            )
            for i, rung in enumerate(ladder)
        ),
        mp4_slave(out_dir, has_audio),
    ]
    return [
        *input_args(ffmpeg, source, limit_seconds),
        "-filter_complex", filter_graph(ladder, frame_rate, poster_at=poster_at),
        *encoder_args(ladder, has_audio, frame_rate, preset, segment_seconds, cuts=cuts),
        *tee_args(slaves),
        *poster_args(out_dir),
    ]  # fmt: skip


# The encoding speed (seconds of video per second) the first segments' lengths count on. The
# whole 1080p ladder runs at about 1.6x on two cores; a faster encode only adds margin.
PLANNED_SPEED = 1.5


def segment_cuts(
    limit_seconds: float | None, segment_seconds: int, init_seconds: float
) -> list[float] | None:
    """Where segments end, up to the limit: `init_seconds`, then each as long as a player that
    started when the first one was stored can wait for, until they are `segment_seconds`
    long (1, 1, 2, 3, 4, 6, 6 ... s by default).

    A player started at `playable` reaches the end of the video's first `t` seconds when
    `t` seconds have passed, and by then an encode at PLANNED_SPEED has stored everything up
    to `init_seconds + PLANNED_SPEED * t`: that is where the next segment may end (rounded
    down to a multiple of `init_seconds`). Doubling each time, as before, outran the encode
    at the fourth segment and the player waited about a second there. None (every
    `segment_seconds` from the start) when the length is unknown or there is no shorter first
    segment. FFmpeg's hls muxer cannot do this itself: its `hls_init_time` applies to the
    whole playlist when the playlist keeps every segment (ours do).
    """
    if limit_seconds is None or not 0 < init_seconds < segment_seconds:
        return None
    cuts: list[float] = []
    at = 0.0
    while True:
        reachable = init_seconds * math.floor((init_seconds + PLANNED_SPEED * at) / init_seconds)
        at = min(at + segment_seconds, max(reachable, at + init_seconds))
        if at >= limit_seconds:
            return cuts
        cuts.append(round(at, 3))


def checked_out_dir(out_dir: str, ladder: list[Rung]) -> str:
    if not ladder:
        raise ValueError("the ladder is empty")
    if not _SAFE_DIR.fullmatch(out_dir):
        raise ValueError(f"out_dir has characters the tee muxer would misread: {out_dir!r}")
    return out_dir.rstrip("/") or "/"


def input_args(ffmpeg: str, source: str, limit_seconds: float | None) -> list[str]:
    """Global options and the one input (`input_source`: a local file or the relayed upload),
    only the containers and decoders we accept (the probe has refused other codecs already;
    this holds if a file lied to it)."""
    url, protocols = input_source(source)
    args = [
        ffmpeg, "-nostdin", "-hide_banner", "-y", "-loglevel", "warning",
        "-progress", "pipe:1", "-nostats",
        "-protocol_whitelist", protocols, "-format_whitelist", FORMAT_WHITELIST,
        "-codec_whitelist", CODEC_WHITELIST,
    ]  # fmt: skip
    if limit_seconds is not None:
        args += ["-t", _num(limit_seconds)]
    return [*args, "-i", url]


def filter_graph(ladder: list[Rung], frame_rate: float, *, poster_at: float | None) -> str:
    """Rung i's picture is labelled [v{i}]; with a `poster_at`, the poster's is [poster]."""
    # 0:V:0 is the first video stream that is not cover art. FFmpeg has already applied the
    # source's rotation (autorotate) before this graph, so sizes are display sizes.
    source = "[0:V:0]" + (f"fps={MAX_FRAME_RATE:g}," if frame_rate > MAX_FRAME_RATE else "")
    branches = len(ladder) + (0 if poster_at is None else 1)
    labels = [f"[s{i}]" for i in range(branches)]
    if branches > 1:
        parts = [f"{source}split={branches}{''.join(labels)}"]
    else:
        parts, labels = [], [source]
    for i, rung in enumerate(ladder):
        # setsar=1: anamorphic sources become square pixels at the display aspect.
        parts.append(f"{labels[i]}scale={rung.width}:{rung.height},setsar=1,format=yuv420p[v{i}]")
    if poster_at is not None:
        width, height = poster_size(ladder[0])
        # The first frame, then the first at poster_at, which overwrites it (-update 1): a
        # poster_at past the real end still leaves a poster. selected_n stops the branch after.
        parts.append(
            f"{labels[-1]}select='eq(n,0)+gte(t,{_num(poster_at)})*lt(selected_n,2)',"
            # JPEG is full range: convert here, in the same scale.
            f"scale={width}:{height}:out_range=full,setsar=1,format=yuv420p[poster]"
        )
    return ";".join(p for p in parts if p)


def encoder_args(
    ladder: list[Rung],
    has_audio: bool,
    frame_rate: float,
    preset: str,
    segment_seconds: int,
    *,
    cuts: Sequence[float] | None = None,
) -> list[str]:
    """Output streams v:i (and a:i) for rung i, with the rung's bitrates and H.264 level."""
    gop = max(1, round(segment_seconds * min(frame_rate, MAX_FRAME_RATE)))
    args = [arg for i in range(len(ladder)) for arg in ("-map", f"[v{i}]")]
    if has_audio:
        # One AAC encode per rung (cheap next to video) so each rung has its own audio bitrate.
        args += ["-map", "0:a:0"] * len(ladder)
    args += [
        "-c:v", "libx264", "-preset", preset, "-profile:v", "high",
        # Keyframes at the same instants in every rung, so players can switch between
        # segments; no scene-cut keyframes, which would differ between rungs.
        "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
        "-force_key_frames", key_frames(segment_seconds, cuts),
    ]  # fmt: skip
    for i, rung in enumerate(ladder):
        level = h264_level(rung.width, rung.height, frame_rate, rung.maxrate)
        args += [
            f"-b:v:{i}", str(rung.video_bitrate), f"-maxrate:v:{i}", str(rung.maxrate),
            f"-bufsize:v:{i}", str(rung.bufsize), f"-level:v:{i}", f"{level // 10}.{level % 10}",
        ]  # fmt: skip
    if has_audio:
        args += ["-c:a", "aac", "-ac", "2", "-ar", "48000"]
        for i, rung in enumerate(ladder):
            args += [f"-b:a:{i}", str(rung.audio_bitrate)]
    return args


def key_frames(segment_seconds: int, cuts: Sequence[float] | None) -> str:
    """A keyframe at 0 and at every cut (the first frame at or after each), as an expression:
    FFmpeg's list form left some rungs without a keyframe at a cut."""
    if not cuts:
        return f"expr:gte(t,n_forced*{segment_seconds})"
    times = [0.0, *cuts]
    # Past the short first segments, cuts come every segment: those need no listing.
    regular = len(times) - 1
    while regular > 1 and times[regular] - times[regular - 1] == segment_seconds:
        regular -= 1
    # n_forced counts the keyframes forced so far, so the next is due at times[n_forced].
    due = f"{_num(times[regular])}+(n_forced-{regular})*{segment_seconds}"
    for n in reversed(range(regular)):
        due = f"if(eq(n_forced,{n}),{_num(times[n])},{due})"
    return f"expr:gte(t,{due})"


def tee_args(slaves: list[str]) -> list[str]:
    return [
        # MP4 needs the H.264/AAC headers out of band; mpegts repeats them at keyframes anyway.
        "-flags", "+global_header",
        # No source metadata (phones write GPS location) and no chapters in the outputs.
        "-map_metadata", "-1", "-map_chapters", "-1",
        "-f", "tee", "|".join(slaves),
    ]  # fmt: skip


def hls_slave(
    out_dir: str,
    i: int,
    rung: Rung,
    has_audio: bool,
    segment_seconds: int,
    *,
    cuts: Sequence[float] | None = None,
    frame_rate: float = MAX_FRAME_RATE,
) -> str:
    """The tee slave writing output streams i as the rung's MPEG-TS segments, each listed in
    its segment list (name, start, end) once it is complete on disk, so that it can be
    published while the rest is encoded. The keyframes are forced at the same instants in
    every rung, so every rung is cut at the same instants."""
    times = (
        f"segment_times={','.join(_num(t) for t in cuts)}"
        if cuts
        else f"segment_time={segment_seconds}"
    )
    # A forced keyframe's time can round to just before the cut it was forced for; without
    # this margin (half a frame, as FFmpeg's documentation advises) the cut waits for the
    # next keyframe, a whole segment later.
    delta = _num(0.5 / min(frame_rate, MAX_FRAME_RATE))
    return (
        f"[{_tee_options(i, has_audio)}:f=segment:segment_format=mpegts:{times}"
        f":segment_time_delta={delta}"
        f":segment_list={out_dir}/{rung.name}/{SEGMENT_LIST}:segment_list_type=csv]"
        f"{out_dir}/{rung.name}/seg_%05d.ts"
    )


def mp4_slave(out_dir: str, has_audio: bool) -> str:
    """The tee slave writing the top rung's streams (0) as the MP4 too."""
    # faststart: moov before mdat, so browsers start playing before the download ends.
    return f"[{_tee_options(0, has_audio)}:f=mp4:movflags=+faststart]{out_dir}/{MP4_FILE}"


def poster_args(out_dir: str) -> list[str]:
    """The [poster] branch of the filter graph to one JPEG."""
    return [
        # passthrough: a constant-rate output would repeat the frame back to t=0 first.
        "-map", "[poster]", "-frames:v", "2", "-update", "1", "-fps_mode", "passthrough",
        # The first frame's poster is published while the second may replace it: a reader
        # must never see half a file.
        "-atomic_writing", "1",
        # The frames are already full-range yuv420p; without "unofficial" FFmpeg converts
        # them again to the deprecated yuvj420p and warns into our error tail.
        "-strict", "unofficial", "-q:v", "3",
        "-map_metadata", "-1", f"{out_dir}/{POSTER_FILE}",
    ]  # fmt: skip


def _tee_options(i: int, has_audio: bool) -> str:
    # Quoted because ':' separates tee options; the quotes are escaped because tee
    # unescapes the whole spec once before reading them. onfail=abort: without it a slave
    # that cannot open its file is dropped and FFmpeg still exits 0.
    streams = f"v:{i},a:{i}" if has_audio else f"v:{i}"
    return rf"select=\'{streams}\':onfail=abort"


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")
