"""AssetLoom: a self-hosted, offline-first multimodal asset library with provenance."""

__version__ = "0.1.0"
