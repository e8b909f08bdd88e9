"""The population list (roster) a ward or commune must vaccinate: columns, reasons, reading and checking files (pure).

columns.py names the columns; rows.py checks one row; files.py reads a CSV or
XLSX file into rows and checks them all; template.py writes the empty
template; link.py says when a merged person and a roster entry disagree; district.py
says which district a province's import is for.
hub/store/roster.py keeps them.
"""
