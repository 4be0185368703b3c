"""The temporary Prefect server of a command-line run without PREFECT_API_URL dies with the run.

Prefect starts it (uvicorn, ~210 MB) as a plain child on the first API call, with the run's stdout
and stderr. A run killed with SIGKILL (an OOM kill, a CI timeout) left it running for good, one
more per killed run, holding the run's output open, so that whoever waited for EOF (cron, CI,
`subprocess.run(..., capture_output=True, timeout=...)`) hung. Started here instead, from the main
thread and before the flow: same server, same command, but the kernel ends it when the run ends
(PR_SET_PDEATHSIG, flows/storage/scratch.py) and it writes to /dev/null, not to the run's output.
Prefect's own calls then find it running (one instance per process) and use it.
"""

from __future__ import annotations

import os
import subprocess
import threading
import types


def start_temporary_server() -> str | None:
    """Start the run's temporary server if Prefect would start one (no PREFECT_API_URL); its API
    URL, or None when a server is configured. Call from the main thread."""
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return None  # before importing Prefect's server (~3.5 CPU s): a run against a server needs none of it
    from prefect.server.api import server as prefect_server
    assert threading.current_thread() is threading.main_thread(), "a helper dies with the thread that started it"

    class DiesWithRun(prefect_server.SubprocessASGIServer):
        def _run_uvicorn_command(self) -> subprocess.Popen:
            # Prefect's own command, with our Popen: only this call sees it (the module's name, briefly)
            module_subprocess = prefect_server.subprocess
            prefect_server.subprocess = types.SimpleNamespace(Popen=_popen_dying_with(os.getpid()))
            try:
                return super()._run_uvicorn_command()
            finally:
                prefect_server.subprocess = module_subprocess

    server = DiesWithRun()  # registered as the process's temporary server: Prefect's calls get this one
    if not isinstance(server, DiesWithRun):
        return None  # Prefect made its own already (not from the command line's run): left to Prefect
    server.start()
    return server.api_url


def _popen_dying_with(parent: int):
    from flows.storage.scratch import die_with_parent

    def popen(*args, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(*args, **{**kwargs, "stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL,
                                          "stderr": subprocess.DEVNULL, "preexec_fn": lambda: die_with_parent(parent)})

    return popen
