"""API routes, one module per area; each parses input, calls the Library, renders JSON."""
