"""Makes the repository root importable for the tests, as the scripts see it."""
