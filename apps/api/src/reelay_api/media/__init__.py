"""/videos and /images: upload, job control, status, downloads and playback."""
