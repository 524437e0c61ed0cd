"""Ingest: turn files into prepared records (type, metadata, fingerprints, thumbnail)."""
