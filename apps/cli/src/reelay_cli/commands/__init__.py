"""The HTTP commands of `reelay` (everything but `up`), registered on the app in main.py."""
