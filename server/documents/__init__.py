"""Uploaded documents (ID scans, diplomas, certificates): sniffing, re-encoding, storage."""

from server.documents.service import DOCUMENT_KINDS, DocumentService, document_view

__all__ = ["DOCUMENT_KINDS", "DocumentService", "document_view"]
