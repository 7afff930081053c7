"""The benchmark, outside the product (not in the wheel): `make bench`, or
`python -m benchmarks --out reports/bench.json` from the checkout. It measures the one-pass
design against the other ways to get the same tables (bench.py says how).
"""
