"""District hub: ingest kiosk event streams, merge them, report.

Where things are: cli (the command line) and commands (what each subcommand
does); subscriber (`hub run`'s MQTT session) and worker (the merge process it
starts), which runs ingest (classify and commit) with keys (signature checks);
merge (the pure derivation); store/ (the Store protocol and all of the hub's
SQL); ca, enrollment, broker_files and credentials (the district CA and the
broker's files); liveness (is merging stalled); errors (HubError and its kin).
"""
