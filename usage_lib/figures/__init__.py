"""Numbers from a cube, no database: headline and adoption figures (`adoption`) and the data
checks a reader must know before trusting them (`checks`). Takes a cube; hands on polars
frames and small dataclasses.
"""
