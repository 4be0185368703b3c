"""What the reading workers' fork server imports before it forks any of them (flows.source.reading,
`reading_pool`): the reading code, once for all workers; and a worker forked from it does not
run the run's main module again, as multiprocessing does for every process it starts this way
(the workers need nothing of it, and under a deployment it is `prefect.engine`, that is all of
Prefect). Only the fork server imports this module, so only its workers start without it.

s3fs too (and the AWS SDK under it): every worker reading from S3 opens its own client, and the
imports are a third of a second of CPU each; here they are paid once."""

from __future__ import annotations

import multiprocessing.spawn

import s3fs  # noqa: F401 - see above

import flows.source.reading  # noqa: F401 - imported here once, not in every worker

_prepare = multiprocessing.spawn.prepare


def _prepare_without_main(data: dict) -> None:
    data.pop("init_main_from_name", None)
    data.pop("init_main_from_path", None)
    _prepare(data)


multiprocessing.spawn.prepare = _prepare_without_main
