"""How numbers look, no database: HTML pieces with inline styles (`html`), static and live
charts (`charts`), tables as text, CSV, JSON and XLSX (`formats`), the bridge and the
alerts (`watch`). Takes cubes, tables and
figures; hands on strings, bytes and chart specs.
"""
