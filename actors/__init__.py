"""The walproposer/safekeeper WAL consensus, written once as sans-I/O actors."""
