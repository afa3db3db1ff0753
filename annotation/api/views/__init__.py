"""The core's v1 API views."""
