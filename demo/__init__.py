"""`make demo`: tables, a janitor, peons, tasks flowing, a summary from the database."""
