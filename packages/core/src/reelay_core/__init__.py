"""reelay's shared domain: settings, database models, storage, events, jobs and media logic."""
