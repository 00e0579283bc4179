"""Facekeeper: a self-hosted face recognition server speaking the CompreFace REST API."""

__version__ = "0.1.0"
