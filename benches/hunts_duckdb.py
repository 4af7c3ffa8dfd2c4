"""Runs one saved hunt's SQL on DuckDB over the same Parquet lake (benches/hunts.sh).

usage: hunts_duckdb.py LAKE SQL_FILE
Prints: <rows> <query seconds>. The lake's tables become views; json_get_str, which the
portable hunts use, becomes a macro over DuckDB's json_extract_string.
"""
import sys
import time

import duckdb

lake, sql_file = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET threads = 2")
for table in ("cloudtrail", "builds"):
    con.execute(
        f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{lake}/{table}/*/*.parquet', hive_partitioning = true)"
    )
con.execute(
    "CREATE MACRO json_get_str(j, a) AS json_extract_string(j, '$.' || a), "
    "(j, a, b) AS json_extract_string(j, '$.' || a || '.' || b)"
)
sql = open(sql_file).read()
t = time.perf_counter()
rows = con.execute(sql).fetchall()
print(len(rows), f"{time.perf_counter() - t:.2f}")
