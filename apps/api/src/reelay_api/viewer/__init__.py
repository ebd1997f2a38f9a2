"""Viewer tokens: one media item's status, events and playback for a browser on any origin."""
