"""The committed notebooks are the ones tools/make_notebooks.py writes (plus their outputs)."""

import importlib.util
from pathlib import Path

import nbformat
import pytest

from usage_lib.paths import notebook_dir

TOOL = Path(__file__).resolve().parent.parent / "tools" / "make_notebooks.py"
spec = importlib.util.spec_from_file_location("make_notebooks", TOOL)
assert spec is not None and spec.loader is not None
make_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_notebooks)


@pytest.mark.parametrize("name", sorted(make_notebooks.NOTEBOOKS))
def test_committed_cells_match_the_tool(name: str) -> None:
    committed = nbformat.read(notebook_dir() / f"{name}.ipynb", as_version=4)
    written = make_notebooks.NOTEBOOKS[name]
    assert [(c.cell_type, c.source) for c in committed.cells] == [
        (c.cell_type, c.source) for c in written
    ]
    assert committed.metadata["kernelspec"]["name"] == "usage-lib"


def test_every_committed_notebook_has_a_source_in_the_tool() -> None:
    committed = {p.stem for p in notebook_dir().glob("*.ipynb")}
    assert committed == set(make_notebooks.NOTEBOOKS)
