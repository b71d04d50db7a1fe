"""Real ``python -m workcraft`` processes and real signals: peons, janitors, faults, the
README's quickstart, installation, and the command line end to end."""
