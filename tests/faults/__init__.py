"""The fault test: SIGKILL Kafka brokers and bus workers under load, then prove no acknowledged event is lost.

Run it with ``make test-faults`` (the full schedule) or
``PYTHONPATH=tests .venv/bin/python -m faults.run --help``; docs/RELIABILITY.md
describes what it does and records the figures of each run.
"""
