"""Media jobs: transcoding attempts, lease sweeping, stale upload clean-up."""
