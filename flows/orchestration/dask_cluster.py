"""The Dask side of the flow: one run, one Prefect API, and worker processes that never run the
caller's script again.

- A Dask worker that reports a task run needs a Prefect API. Without PREFECT_API_URL, Prefect
  starts a temporary server in whichever process asks first, so every worker of a LocalCluster
  would start its own (~210 MiB each). The flow's own API (the configured one, or the temporary
  server the flow process started) is passed to the LocalCluster's workers in their environment.
  Workers of an external cluster (dask_address) are not started by us: the flow then needs
  PREFECT_API_URL set, to a server the workers are given too (`external_cluster_api`).
- LocalCluster starts its workers with multiprocessing's spawn, which runs the parent's
  `__main__` script again in each worker (as `__mp_main__`): a script that calls the flow without
  an `if __name__ == "__main__":` guard would make every worker run the whole flow. Our tasks live
  in importable modules, so the workers are started without the parent's main module; a worker
  restarted later by its nanny would import it again, and then refuses to run a flow
  (`refuse_flow_in_worker`), naming the one-line fix.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.spawn
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

UNGUARDED = ("the route53-lake flow was called while a Dask worker imported the script that started the run: "
             'put the call under `if __name__ == "__main__":` in that script')


class ExternalClusterNeedsAPI(RuntimeError):
    """An external Dask cluster and no PREFECT_API_URL: each worker would start a temporary server of its own."""


def prefect_api_url() -> str | None:
    """The Prefect API this process talks to: PREFECT_API_URL, or the temporary server Prefect
    started for it (inside a flow run: the run's client); None when there is none yet."""
    from prefect.context import FlowRunContext
    from prefect.settings import PREFECT_API_URL

    configured = PREFECT_API_URL.value()
    if configured:
        return configured
    context = FlowRunContext.get()
    client = getattr(context, "client", None)
    return str(client.api_url).rstrip("/") if client is not None else None


def external_cluster_api() -> str:
    """PREFECT_API_URL for a run on an external cluster, whose workers must be given the same."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        raise ExternalClusterNeedsAPI(
            "dask_address: an external Dask cluster needs PREFECT_API_URL set, here and on its workers, to one Prefect "
            "server both reach (otherwise each worker starts a temporary server of its own)")
    return url


@contextmanager
def local_cluster(**cluster_kwargs: Any) -> Iterator[Any]:
    """A distributed.LocalCluster whose worker processes are spawned without the parent's main
    module, for as long as the cluster runs (a callable for DaskTaskRunner's cluster_class)."""
    import distributed

    with _spawn_without_main(), distributed.LocalCluster(**cluster_kwargs) as cluster:
        yield cluster


@contextmanager
def _spawn_without_main() -> Iterator[None]:
    original = multiprocessing.spawn.get_preparation_data

    def without_main(name: str) -> dict[str, Any]:
        data = original(name)
        data.pop("init_main_from_name", None)
        data.pop("init_main_from_path", None)
        return data

    multiprocessing.spawn.get_preparation_data = without_main
    try:
        yield
    finally:
        multiprocessing.spawn.get_preparation_data = original


def refuse_flow_in_worker() -> None:
    """Raise when this is a spawned process running its parent's script again (an unguarded call):
    multiprocessing runs it under the name __mp_main__, and only there."""
    if "__mp_main__" not in sys.modules:
        return
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "<module>" and frame.f_globals.get("__name__") == "__mp_main__":
            raise RuntimeError(UNGUARDED)
        frame = frame.f_back
