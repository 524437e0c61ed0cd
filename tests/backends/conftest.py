"""The backend fixtures (`backend_services`, `postgres_url`, `s3_bucket`) live in
tests/backends/fixtures.py, a plugin that tests/conftest.py loads for every test directory: one
definition, so a session that runs tests/backends and tests/blobs starts the servers once.
"""
