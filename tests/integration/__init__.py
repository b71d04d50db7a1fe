"""The real database, with the code under test in the test process (store, producer, sweeps,
setup, schema); private servers where a test needs a server of its own."""
