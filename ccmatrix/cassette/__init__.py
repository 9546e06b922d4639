"""Cassettes: the format (models.py), reading and writing it (store.py), redaction
(redact.py) and the field-level comparison of upstream requests (field_diff.py)."""

from ccmatrix.cassette.models import (
    FORMAT,
    Body,
    Cassette,
    CassetteError,
    CellRef,
    Interaction,
    Provenance,
    RecordedRequest,
    RecordedResponse,
    RecordedVerdict,
    Stream,
)
from ccmatrix.cassette.store import (
    BLOB_KEY,
    BLOB_THRESHOLD,
    dump_json,
    externalize,
    externalize_bodies,
    internalize,
    load,
    prune_blobs,
    read_blob,
    read_document,
    referenced_blobs,
    save,
    write_document,
)
from ccmatrix.catalog.layout import BLOB_DIR

__all__ = [
    "BLOB_DIR", "BLOB_KEY", "BLOB_THRESHOLD", "Body", "Cassette", "CassetteError", "CellRef", "FORMAT", "Interaction",
    "Provenance", "RecordedRequest", "RecordedResponse", "RecordedVerdict", "Stream", "dump_json", "externalize",
    "externalize_bodies", "internalize", "load", "prune_blobs", "read_blob", "read_document", "referenced_blobs",
    "save", "write_document",
]
