"""The embedded demo database: a seeded synthetic dataset (`data`) loaded into SecantusDB,
run as a separate process (`server`). Only the demo and the tests use it; nothing of what
counts (`core`) imports it.
"""
