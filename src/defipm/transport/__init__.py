"""Network plumbing shared by the adapters (no trading logic): retrying reads (``defipm.transport.retry``)."""
