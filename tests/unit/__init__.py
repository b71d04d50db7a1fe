"""No database and no processes: parsing, validation and pure functions, in milliseconds."""
