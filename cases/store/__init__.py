"""Storage: the SQLite database, migrations, FSM and processed-update records, time."""
