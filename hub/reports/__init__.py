"""The district's reports and exports, pure: what each figure counts and how a file of them is laid out.

The store (hub/store/) reads the rows; these modules shape them into the daily report (daily.py), the
national-platform line list (export.py, with its mapping file platform.toml) and the other lists of the workspace.
No SQL and no Flask here.
"""
