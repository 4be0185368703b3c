"""The local Spark session the Spark SQL checks run in (tests/query/test_spark_sql.py and
tests/query/test_resolver_family.py): one core, loopback only, no UI, UTC, an in-memory catalog.

The lakes here are a few hundred rows, and what costs is planning and compiling, not rows: adaptive
query execution (re-planning at run time) and whole-stage code generation (a Java compile per
query) cut a fifth of the Spark checks' time when off. Neither changes a result: the checks
compare the rows each query returns, and the SQL Spark is given is the same."""

from __future__ import annotations

from pathlib import Path


def local_spark(app: str, warehouse: Path):
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]").appName(app)
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC").config("spark.sql.shuffle.partitions", "1")
        .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.catalogImplementation", "in-memory")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.sql.adaptive.enabled", "false").config("spark.sql.codegen.wholeStage", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def define(session, setup: str) -> None:
    """Runs the statements of setup_sql("spark", lake) one by one (Spark takes one a call)."""
    for statement in setup.split(";\n\n"):
        if statement.strip().rstrip(";"):
            session.sql(statement.strip().rstrip(";"))
