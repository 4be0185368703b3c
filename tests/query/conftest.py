"""Fixtures of the query tests: the built Resolver and DNS Firewall lake (tests/query/resolver_family_lake.py),
read by its own tests and by the cookbook's."""

from tests.query.resolver_family_lake import resolver_lake, resolver_lake_path  # noqa: F401 (fixtures)
