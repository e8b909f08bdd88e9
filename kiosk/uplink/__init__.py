"""The kiosk's link to the district hub: the MQTT connection, the publisher loop, and the camera rate for its status.

Imported only by the processes that publish (`kiosk publish`, `kiosk run
--broker`); `kiosk scan` imports `kiosk.uplink.health` alone, which needs no paho.
"""
