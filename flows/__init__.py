"""The pipeline's edges: the Prefect flows (route53_lake.py), the steps of a day (pipeline.py) and
the wings they call: source/ (listing and reading CloudTrail), lake/ (staging and publishing),
storage/ (the store, locks, scratch), query/ (DuckDB over the lake), orchestration/ (Prefect's
side: fan-out, artifacts, alerts, Dask) and cli/ (the `route53-lake` command)."""

from flows import moved

moved.install()
