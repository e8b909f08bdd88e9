"""The kiosk's link to the district hub: the MQTT connection, the publisher loop and its part, the camera rate for its status.

Imported only by the processes that publish (`kiosk publish`, `kiosk run
--broker`); the scanner's health reaches it through kiosk.notices, which needs no paho.
"""
