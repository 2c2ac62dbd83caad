"""crawler: a concurrent web crawler (coordinator process + worker processes with thread pools)."""

__version__ = "0.1.0"
PROJECT_URL = "https://example.invalid/crawler"
