"""The transcoding pipeline: running FFmpeg and turning a source into renditions."""
