"""The Predict view: prediction cards with heat maps, batch results and add-to-project."""
