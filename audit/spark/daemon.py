"""The Python daemon Spark forks its task workers from, with the audit's task code imported first.

Spark starts one daemon per executor and forks a worker from it for each concurrent task; a worker then
imports what the task's function needs (for the audit: pyarrow, pandas, the extractors). Where Python has
no compiled bytecode to read, that import costs seconds per worker. Imported here, before the fork, it is
paid once per executor and every worker inherits it. The session selects this module with
``spark.python.daemon.module``; it then runs pyspark's own daemon.
"""

from __future__ import annotations

import gc

from pyspark import daemon

from audit.spark import extract, parts, provenance

TASK_MODULES = (extract, parts, provenance)  # the modules whose functions Spark tasks run

if __name__ == "__main__":
    gc.freeze()  # the imported objects stay out of each worker's collections: fewer pages copied
    daemon.manager()  # type: ignore[no-untyped-call]  # pyspark ships no annotations for it
