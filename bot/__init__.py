"""opsbot: settings, the composition root and the HTTP server."""
