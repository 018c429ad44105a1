"""Batch screening of whole media archives: folders, zip and tar exports, path lists; parallel, resumable,
deduplicated, with results in an SQLite store that reports are made from."""

from screening.batch.pool import FatalBatchError
from screening.batch.run import BatchOptions, BatchSummary, run_batch
from screening.batch.store import ResultStore

__all__ = ["BatchOptions", "BatchSummary", "FatalBatchError", "ResultStore", "run_batch"]
