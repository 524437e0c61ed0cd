"""The HTTP server: the JSON API and the web UI composed into one app, and its uvicorn set-up."""
