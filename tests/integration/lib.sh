# helpers for integration tests
