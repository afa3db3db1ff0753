"""Browser tests of the labeling UI; the browser fixtures live in tests/conftest.py."""
