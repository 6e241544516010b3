"""One-user tools on top of everything (the CLI exposes them; nothing in the library imports them):
the performance bench, re-creating the tiny CLIP, its model card, the embedded world's sample
grid, and exporting a run's weights to open_clip."""
