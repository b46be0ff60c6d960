"""Trợ lý chính sách kinh tế tập thể — answers questions about Vietnamese collective-economy policy.

Pipeline stages, one module each, data flowing one way:
documents → chunking → embeddings/index → retrieval → answer → ui.
"""

__version__ = "0.1.0"
