"""Domain core: pure rules (assets, fingerprints, matching, ledger math). Stdlib + numpy only."""
