"""Repositories: queries by name, one module per aggregate as storage/models has them (plus
summaries.py, the read model over all of them). They take the caller's AsyncSession and never
commit: the service that calls them owns the transaction."""
