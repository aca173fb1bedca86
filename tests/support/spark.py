"""A DuckDB store's tables as a Spark session's temporary views, typed by the dataset schema, so that the
same Ibis expressions run on both engines."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any


def spark_views(spark: Any, db: Path, tables: Iterable[str] | None = None) -> Any:
    """Each of `tables` (every schema table by default) of the store `db` as a temporary view of `spark`;
    returns an Ibis connection to the session."""
    import duckdb
    import ibis
    from pyspark.sql import types as T

    from icsys.dataset.schema import TABLES

    kinds = {"string": T.StringType(), "int": T.LongType(), "float": T.DoubleType(), "date": T.DateType(),
             "timestamp": T.TimestampType(), "bool": T.BooleanType()}
    with duckdb.connect(str(db), read_only=True) as con:
        for name in tables or TABLES:
            columns = TABLES[name].columns
            schema = T.StructType([T.StructField(c.name, kinds[c.type]) for c in columns])
            rows = con.execute(f'SELECT {", ".join(c.name for c in columns)} FROM "{name}"').fetchall()
            spark.createDataFrame(rows, schema=schema).createOrReplaceTempView(name)
    return ibis.pyspark.connect(spark)
