"""The object store: message originals, adapted copies, fetched device profiles.

:class:`FilesystemStore` (the default, ``./data/objects``) and :class:`S3Store` (MinIO or any
S3 server) behind :class:`ObjectStore`; keys come only from :mod:`mmsc.store.keys`.
"""

from .base import (
    InvalidKey, ObjectNotFound, ObjectStore, ObjectStoreError, StoreRequestError,
    StoreUnavailable,
)
from .filesystem import FilesystemStore
from .keys import message_key, message_prefix, validate_id, validate_key, validate_prefix
from .s3 import S3Store

__all__ = [
    "FilesystemStore", "InvalidKey", "ObjectNotFound", "ObjectStore", "ObjectStoreError",
    "S3Store", "StoreRequestError", "StoreUnavailable", "message_key", "message_prefix",
    "validate_id", "validate_key", "validate_prefix",
]
