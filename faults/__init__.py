"""The fault-test harness: real kiosks, a real Mosquitto and a real hub, broken on purpose, and the count of what survived.

``python -m faults [--scenario NAME ...] [--full] [--json]`` from the repository
root; docs/faults.md says what each scenario does and how to read the table.
The scenarios are in faults/runs.py; the event source every kiosk runs is
faults/generator.py.
"""
