"""The Evaluate view: metrics, the clickable confusion matrix, review and likely-mislabeled."""
