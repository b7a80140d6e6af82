"""Training: settings, the engine, the data pipeline, the feature cache, the model and its weights."""
