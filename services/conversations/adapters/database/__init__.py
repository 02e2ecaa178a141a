"""PostgreSQL, the one place that speaks SQL: named statements in the `.sql` files (see
`queries.py`), run on asyncpg connections (`pool.py`) by one module per table or queue."""
