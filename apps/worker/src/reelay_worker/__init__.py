"""reelay's worker: arq jobs that probe, transcode and package media with FFmpeg."""
