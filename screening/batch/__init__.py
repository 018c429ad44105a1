"""Batch screening of whole media archives: folders, zip and tar exports, path lists; parallel, resumable,
deduplicated, with results in an SQLite store that reports are made from.

    screening batch /archive/2024 exports/*.zip @more.txt --store results.sqlite --date 2024-01-20
    screening report results.sqlite --html report.html --csv report.csv --jsonl report.jsonl

Modules, one job each:

- :mod:`~screening.batch.sources`: walk the sources lazily (nothing extracted, nothing listed in full);
  hostile input (path traversal, encrypted members, zip bombs, oversize members, symlinks leaving the
  folder) becomes a per-file error.
- :mod:`~screening.batch.magic`: what a file is, from its first bytes.
- :mod:`~screening.batch.pool` and :mod:`~screening.batch.worker`: spawned worker processes, each with one
  Screener (models loaded once, onnxruntime threads=1), two tasks in flight per worker; a worker that dies
  or hangs is replaced and its photo recorded as an error.
- :mod:`~screening.batch.store`: the SQLite store (WAL, small transactions, a photo row only with its
  result), one result per distinct sha256.
- :mod:`~screening.batch.versions` and :mod:`~screening.batch.rescreen`: what each result depends on, so a
  rules change re-applies the rules to stored findings without pixels and a registry change re-runs only
  the detectors whose inputs changed.
- :mod:`~screening.batch.run`: the run itself; :mod:`~screening.batch.progress`: what the user sees;
  :mod:`~screening.batch.count`: its total, counted without reading any file twice (estimated, then exact,
  for compressed tars).

Run the same command again after an interruption (Ctrl-C, kill -9, power loss): finished photos are
skipped by (source, member), nothing is stored twice, and whatever was in flight is screened again.
"""

from screening.batch.pool import FatalBatchError
from screening.batch.run import BatchOptions, BatchSummary, run_batch
from screening.batch.store import ResultStore

__all__ = ["BatchOptions", "BatchSummary", "FatalBatchError", "ResultStore", "run_batch"]
