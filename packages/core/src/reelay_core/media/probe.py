"""ffprobe arguments and the parsing of its JSON into a `SourceInfo`, with the upload limits."""

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from reelay_core.media.errors import MediaRejected

# Demuxer names exactly as ffprobe reports them in format.format_name.
ALLOWED_FORMATS = frozenset(
    {
        "mov,mp4,m4a,3gp,3g2,mj2",  # MP4, MOV, M4V, 3GP
        "matroska,webm",
        "avi",
        "mpegts",  # .ts / .m2ts / .mts (camcorders)
        "mpeg",  # MPEG-PS: .mpg, .vob
        "flv",
        "asf",  # .wmv
    }
)
# For FFmpeg's `-format_whitelist`: it matches any comma-separated name of a demuxer.
FORMAT_WHITELIST = "mov,matroska,avi,mpegts,mpeg,flv,asf"

# Demuxers that read other files or the network, named so the message can say why.
_REFERENCING_FORMATS = frozenset(
    "hls applehttp dash concat ffconcat rtsp rtp sdp tee data lavfi ffmetadata image2 mpjpeg"
    " smoothstreaming".split()
)
_SUPPORTED_WORDS = "MP4, MOV, MKV, WebM, AVI, MPEG-TS, MPEG, FLV or WMV"

# Codecs of the tracks we decode, as ffprobe names them, with the FFmpeg decoders that may read
# them. FFmpeg 6 still carries hundreds of decoders (zmbv, jpeg2000, ...), each an attack surface
# for a crafted upload; only these are ever opened (`-codec_whitelist` matches decoder names).
VIDEO_DECODERS: dict[str, tuple[str, ...]] = {
    "h264": ("h264",),
    "hevc": ("hevc",),
    "av1": ("libdav1d", "libaom-av1", "av1"),
    "vp8": ("vp8", "libvpx"),
    "vp9": ("vp9", "libvpx-vp9"),
    "mpeg4": ("mpeg4",),
    "mpeg2video": ("mpeg2video", "mpegvideo"),
    "mpeg1video": ("mpeg1video",),
    "mjpeg": ("mjpeg",),
    "prores": ("prores",),
    "dvvideo": ("dvvideo",),
    "h263": ("h263",),
    "flv1": ("flv",),
    "vp6f": ("vp6f",),
    "msmpeg4v3": ("msmpeg4",),
    "wmv1": ("wmv1",),
    "wmv2": ("wmv2",),
    "wmv3": ("wmv3",),
    "vc1": ("vc1",),
    "theora": ("theora",),
}
AUDIO_DECODERS: dict[str, tuple[str, ...]] = {
    "aac": ("aac", "aac_fixed"),
    "mp3": ("mp3float", "mp3"),
    "mp2": ("mp2float", "mp2"),
    "ac3": ("ac3", "ac3_fixed"),
    "eac3": ("eac3",),
    "opus": ("opus", "libopus"),
    "vorbis": ("vorbis", "libvorbis"),
    "flac": ("flac",),
    "alac": ("alac",),
    "dts": ("dca",),
    "amr_nb": ("amrnb",),
    "amr_wb": ("amrwb",),
    "wmav1": ("wmav1",),
    "wmav2": ("wmav2",),
    "wmapro": ("wmapro",),
    **{
        pcm: (pcm,)
        for pcm in "pcm_s16le pcm_s16be pcm_s24le pcm_s24be pcm_s32le pcm_s32be pcm_f32le"
        " pcm_f32be pcm_u8 pcm_alaw pcm_mulaw".split()
    },
}
# Never transcoded, but ffprobe opens a decoder for every track and refuses the file when one is
# not allowed: subtitles and cover art that phones and rippers put beside the video.
SIDE_DECODERS = ("mov_text", "subrip", "ass", "ssa", "webvtt", "text", "dvdsub", "pgssub", "png")
CODEC_WHITELIST = ",".join(
    sorted(
        {
            *(name for names in VIDEO_DECODERS.values() for name in names),
            *(name for names in AUDIO_DECODERS.values() for name in names),
            *SIDE_DECODERS,
        }
    )
)

MAX_PIXELS = 7680 * 4320  # 8K UHD
MAX_SIDE = 8192


def ffprobe_args(ffprobe: str, source: str, *, formats: str | None = FORMAT_WHITELIST) -> list[str]:
    """The ffprobe command for a local file or the relayed upload (`input_source`);
    `formats=None` only for files we made ourselves.

    `-format_whitelist` makes FFmpeg stop right after recognising a container outside the
    allow-list, before that demuxer reads anything: an HLS playlist or concat list is refused
    without any file it names being opened (`-protocol_whitelist file` alone still lets them
    read local files). `-codec_whitelist` does the same for decoders: ffprobe decodes a few
    frames of every track, so a track in another codec fails the probe before any decoder of
    it runs. `explain_unreadable` then tells the uploader why from the first bytes.
    """
    url, protocols = input_source(source)
    return [
        ffprobe, "-v", "error", "-protocol_whitelist", protocols,
        *(["-format_whitelist", formats, "-codec_whitelist", CODEC_WHITELIST] if formats else []),
        "-print_format", "json", "-show_format", "-show_streams",
        "-i", url,
    ]  # fmt: skip


# What ffprobe says when `-format_whitelist` refused the container it recognised.
_NOT_ON_WHITELIST = "not on whitelist"
# ... and when `-codec_whitelist` refused a track's decoder.
_CODEC_REFUSED = re.compile(r"Codec \((\S+)\) not on whitelist")
# First bytes of text formats that name other files or URLs.
_REFERENCE_MAGIC = (b"#EXTM3U", b"#EXT-X-", b"ffconcat version", b"<MPD", b"v=0\n", b"v=0\r")
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")
_PLAYLIST_MESSAGE = (
    "Playlists and files that point to other files or network sources are not "
    "accepted; upload the video file itself."
)
_IMAGE_MESSAGE = "This is an image, not a video; upload it as an image."


def explain_unreadable(head: bytes, stderr: str) -> MediaRejected:
    """Why ffprobe could not open a file, from its first bytes (`head`) and ffprobe's errors."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(_REFERENCE_MAGIC) or (text.startswith(b"<?xml") and b"<MPD" in text):
        return MediaRejected("unsupported_format", _PLAYLIST_MESSAGE, detail=stderr or None)
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return MediaRejected("unsupported_format", _IMAGE_MESSAGE, detail=stderr or None)
    if refused := _CODEC_REFUSED.search(stderr):
        return unsupported_codec(refused.group(1), detail=stderr)
    if _NOT_ON_WHITELIST in stderr:
        return MediaRejected(
            "unsupported_format",
            f"This file type is not supported; upload {_SUPPORTED_WORDS}.",
            detail=stderr,
        )
    return MediaRejected(
        "invalid_media", "The file could not be read as a video.", detail=stderr or None
    )


def unsupported_codec(codec: str, *, detail: str | None = None) -> MediaRejected:
    return MediaRejected(
        "unsupported_format",
        f"The file uses a codec reelay does not decode ({codec}); common camera, phone and "
        "web codecs (H.264, HEVC, VP9, AV1, AAC, MP3, Opus ...) are accepted.",
        detail=detail,
    )


# The one URL FFmpeg may read over the network: the worker's relay of an upload
# (reelay_worker.pipeline.source_relay). `.invalid` never resolves; only the relay, as FFmpeg's
# proxy, sees it.
RELAYED_SOURCE = "http://source.reelay.invalid/source"


def input_source(source: str) -> tuple[str, str]:
    """The URL FFmpeg opens for `source` and the only protocols it may use for it: HTTP (over
    TCP) for the relayed upload, else a local file, with a `file:` prefix so that a name
    containing ':' is never read as another protocol."""
    if source == RELAYED_SOURCE:
        return source, "http,tcp"
    return (source if source.startswith("file:") else f"file:{source}"), "file"


@dataclass(frozen=True)
class SourceInfo:
    format_name: str
    duration: float  # seconds
    width: int  # display width: after sample aspect ratio and rotation
    height: int
    rotation: int  # clockwise degrees the player turns the picture: 0, 90, 180 or 270
    video_codec: str
    audio_codec: str | None
    has_audio: bool
    frame_rate: float
    bitrate: int | None  # bits/s of the whole file

    def as_dict(self) -> dict[str, Any]:
        """The API's `source` object."""
        return {
            "duration": self.duration,
            "width": self.width,
            "height": self.height,
            "video_codec": self.video_codec,
            "audio_codec": self.audio_codec,
            "rotation": self.rotation,
            "frame_rate": self.frame_rate,
            "format": self.format_name,
            "bitrate": self.bitrate,
        }


def parse_probe(
    data: dict[str, Any],
    *,
    max_duration: float = 4 * 3600,
    max_pixels: int = MAX_PIXELS,
    max_side: int = MAX_SIDE,
) -> SourceInfo:
    """Check ffprobe's JSON against the limits; raise `MediaRejected` with a plain message."""
    fmt = data.get("format") or {}
    format_name = fmt.get("format_name")
    streams = data.get("streams") or []
    if not format_name or not isinstance(streams, list):
        raise MediaRejected("invalid_media", "The file could not be read as a video.")
    _check_format(format_name)
    if not streams:
        raise MediaRejected("invalid_media", "The file contains no audio or video.")

    video = next((s for s in streams if _is_video(s)), None)
    if video is None:
        raise MediaRejected("no_video_stream", "The file has no video track.")
    if not video.get("codec_name"):
        raise MediaRejected("unsupported_format", "The video track uses an unknown codec.")
    if video["codec_name"] not in VIDEO_DECODERS:
        raise unsupported_codec(video["codec_name"])
    coded_w, coded_h = _int(video.get("width")), _int(video.get("height"))
    if not coded_w or not coded_h or coded_w <= 0 or coded_h <= 0:
        raise MediaRejected("invalid_media", "The size of the video could not be read.")

    duration = _duration(fmt, video)
    if duration is None:
        raise MediaRejected("invalid_media", "The length of the video could not be read.")
    if duration > max_duration:
        raise MediaRejected(
            "too_long",
            f"The video is {_clock(duration)} long; the limit is {_clock(max_duration)}.",
        )

    rotation = _rotation(video)
    width, height = _display_size(coded_w, coded_h, video.get("sample_aspect_ratio"))
    if rotation in (90, 270):
        width, height = height, width
    for w, h in ((coded_w, coded_h), (width, height)):
        if w * h > max_pixels or max(w, h) > max_side:
            raise MediaRejected(
                "resolution_too_large",
                f"The video is {width}x{height}; the largest accepted has {max_pixels:,} pixels "
                f"and sides up to {max_side}.",
            )

    # The first audio track is the one transcoded (`-map 0:a:0`).
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    audio_codec = audio.get("codec_name") if audio else None
    if audio_codec is not None and audio_codec not in AUDIO_DECODERS:
        raise unsupported_codec(audio_codec)
    return SourceInfo(
        format_name=format_name,
        duration=duration,
        width=width,
        height=height,
        rotation=rotation,
        video_codec=video["codec_name"],
        audio_codec=audio_codec,
        has_audio=audio_codec is not None,
        frame_rate=_frame_rate(video),
        bitrate=_int(fmt.get("bit_rate")),
    )


def _check_format(format_name: str) -> None:
    if format_name in ALLOWED_FORMATS:
        return
    names = set(format_name.split(","))
    if names & _REFERENCING_FORMATS:
        if "image2" in names:
            raise MediaRejected("unsupported_format", _IMAGE_MESSAGE)
        raise MediaRejected("unsupported_format", _PLAYLIST_MESSAGE)
    if any(n.endswith("_pipe") for n in names):  # png_pipe, jpeg_pipe, webp_pipe, ...
        raise MediaRejected("unsupported_format", _IMAGE_MESSAGE)
    raise MediaRejected(
        "unsupported_format",
        f"This file type ({format_name}) is not supported; upload {_SUPPORTED_WORDS}.",
    )


def _is_video(stream: dict[str, Any]) -> bool:
    # Cover art and thumbnail tracks are video streams of one picture, not the video.
    disposition = stream.get("disposition") or {}
    return (
        stream.get("codec_type") == "video"
        and not disposition.get("attached_pic")
        and not disposition.get("timed_thumbnails")
    )


def _duration(fmt: dict[str, Any], video: dict[str, Any]) -> float | None:
    # Matroska keeps the length in the container only; MPEG-TS may lack it per stream.
    for value in (fmt.get("duration"), video.get("duration")):
        seconds = _float(value)
        if seconds is not None and seconds > 0:
            return seconds
    return None


def _rotation(video: dict[str, Any]) -> int:
    """Clockwise degrees, like the old `rotate` tag; the display matrix is counter-clockwise."""
    degrees: float | None = None
    for side_data in video.get("side_data_list") or []:
        ccw = _float(side_data.get("rotation"))
        if ccw is not None:
            degrees = -ccw
            break
    if degrees is None:
        degrees = _float((video.get("tags") or {}).get("rotate")) or 0.0
    return (round(degrees / 90) * 90) % 360


def _display_size(width: int, height: int, sar: Any) -> tuple[int, int]:
    # Anamorphic sources (DV, some broadcast) store non-square pixels.
    ratio = _fraction(sar)
    if ratio is None or ratio == 1:
        return width, height
    return max(2, round(width * ratio)), height


def _frame_rate(video: dict[str, Any]) -> float:
    # avg_frame_rate first: r_frame_rate is a timebase guess (90000/1 for some files).
    for key in ("avg_frame_rate", "r_frame_rate"):
        rate = _fraction(video.get(key))
        if rate is not None and 0 < rate <= 240:
            return round(float(rate), 3)
    return 30.0


def _fraction(value: Any) -> Fraction | None:
    if not isinstance(value, str):
        return None
    num, _, den = value.partition("/" if "/" in value else ":")
    try:
        fraction = Fraction(int(num), int(den or 1))
    except (ValueError, ZeroDivisionError):
        return None
    return fraction if fraction > 0 else None


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _clock(seconds: float) -> str:
    minutes = int(seconds // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    if hours:
        return f"{hours} h"
    return f"{minutes} min" if minutes else f"{int(seconds)} s"
