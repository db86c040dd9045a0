"""Keeping watched folders and the index the same: watch, debounce, reconcile, index.

Import the submodules directly (`ingest.sync.service`); nothing heavy loads here.
"""
