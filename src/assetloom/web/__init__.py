"""The web UI: server-rendered pages plus a little vanilla JavaScript, served by the API app."""
