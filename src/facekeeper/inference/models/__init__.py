"""One module per model family; each registers itself in `facekeeper.inference.registry`."""
