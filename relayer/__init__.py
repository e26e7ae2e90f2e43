"""The swap daemon: pure state machine, store, chain watchers, executor, HTTP API."""
