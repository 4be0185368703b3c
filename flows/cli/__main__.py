"""`python -m flows.cli`: the `route53-lake` command without its console script (flows/cli/main.py,
run as `python -m flows.cli.main` would run it)."""

import runpy

runpy.run_module("flows.cli.main", run_name="__main__", alter_sys=True)
