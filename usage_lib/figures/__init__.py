"""Numbers from a cube, no database: headline and adoption figures (`adoption`), the data
checks a reader must know before trusting them (`checks`), why the month moved (`bridge`);
and, from the daily activity, the watch's alerts and the month so far (`alerts`). Takes a
cube or an activity frame; hands on polars frames and small dataclasses.
"""
