"""Provenance: the RFC 9162 transparency log of registrations, its signing key and exports.

`log_store.SqlLedger` appends leaves in the caller's transaction; `ledger_service.LedgerService`
signs checkpoints and serves proofs, audits and exports; `leaves` builds the leaf payloads.
"""
