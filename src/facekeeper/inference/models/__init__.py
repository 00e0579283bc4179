"""One module per model family; each offers `register(registry)`, the hook outside packages implement too."""
