"""The creation studio: briefs in, generated assets out, each with the recipe that made it.

`generators/` holds one protocol per modality (`base`), the backends by (kind, name)
(`registry`) and one module per backend. Heavy backends load their weights through the model
pool (`assetloom.models.registry.MODELS`) so that they are unloaded when idle like any model.
"""
