"""The Train view: the settings form, live curves, the runs list and retrain-as-you-label."""
