"""The monthly partitions every month-end asset shares."""

from __future__ import annotations

from dagster import MonthlyPartitionsDefinition

from pipelines.resources import read_environment

#: Time zone in which "the month ended" (ATTAIN_TIMEZONE, an IANA name; default UTC), read with every setting.
FISCAL_TIMEZONE = read_environment().partitions_timezone

#: One partition per calendar month, keyed "YYYY-MM"; the earliest month Attain can process is 2017-01
#: (the public Maven sample's year).
monthly = MonthlyPartitionsDefinition(start_date="2017-01", fmt="%Y-%m", timezone=FISCAL_TIMEZONE)

#: The warehouse IO manager selects a month's rows of a computed table by its `month` column (text YYYY-MM, the
#: same SQL in DuckDB and PostgreSQL: pipelines/warehouse_io.py)...
MONTH_PARTITION = {"partition_expr": "month"}
#: ...and of an input table (some have a `month` column of their own) by its `as_of` column.
AS_OF_PARTITION = {"partition_expr": "as_of"}
