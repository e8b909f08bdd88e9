"""The check-in desk's side of the kiosk: the camera loop, the desk that turns a code into a ticket, the lights and buzzer."""
