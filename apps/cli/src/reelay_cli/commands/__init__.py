"""The commands of `reelay`, registered on the app in main.py; all but up.py speak only HTTP."""
