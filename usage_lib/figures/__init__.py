"""Numbers from a cube, no database: headline and adoption figures (`adoption`), the data
checks a reader must know before trusting them (`checks`), why the month moved (`bridge`);
and, from what started each day, the daily watch's alerts and the month so far (`watch`).
Takes a cube or the watch's frame; hands on polars frames and small dataclasses.
"""
