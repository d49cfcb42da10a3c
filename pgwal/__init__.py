"""pgwal: read, write and check PostgreSQL write-ahead log (WAL)."""
