"""The model, its metrics and the schemas of its data."""
