"""Blob store adapters: originals stored by content hash."""
