"""Errors a user can cause. Library code raises these; only the CLI and UI turn them into
messages and exit codes."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: the message is one clear sentence for the user."""


class IngestError(AssistantError):
    """A file could not be read or turned into a document."""


class IndexMissingError(AssistantError):
    """There is no index to answer from."""


class IndexMismatchError(AssistantError):
    """The index on disk does not match the settings, the model or its own checksums."""


class QuestionError(AssistantError):
    """The question itself is unusable (empty, too long)."""


class UnknownDocumentError(AssistantError):
    """A document id that the index does not hold."""


class StoreUnavailableError(AssistantError):
    """The store (the index files or the database) cannot be reached just now."""
