"""Pure media logic: ffprobe parsing, ladder choice, FFmpeg arguments and progress parsing."""
