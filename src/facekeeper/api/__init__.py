"""HTTP edge: thin routers that parse CompreFace requests, call a use case and shape its answer."""
