"""The pack on disk: staging is cleaned, publish swaps whole packs and keeps what was sent."""

import zipfile
from io import BytesIO
from pathlib import Path

from usage_lib import pack

SENT = {"message_id": "<1@x>", "recipients": ["A <a@x.com>"], "sent_at": "t", "subject": "s"}


def stage(out: Path, month: str, marker: str) -> Path:
    folder = out / f".staging-{month}-test"
    folder.mkdir(parents=True)
    (folder / "index.html").write_text(marker)
    pack.write_manifest(folder, {"month": month, "marker": marker})
    return folder


def test_staging_is_removed_whatever_happens(tmp_path: Path) -> None:
    try:
        with pack.staging(tmp_path, "2026-10") as folder:
            (folder / "x").write_text("half")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert list(tmp_path.iterdir()) == []


def test_publish_replaces_the_pack_and_keeps_the_sent_record(tmp_path: Path) -> None:
    first = pack.publish(stage(tmp_path, "2026-10", "one"), tmp_path, "2026-10")
    pack.record_sent(first, SENT)
    second = pack.publish(stage(tmp_path, "2026-10", "two"), tmp_path, "2026-10")
    manifest = pack.read_manifest(second)
    assert manifest["marker"] == "two" and manifest["sent"] == [SENT]
    assert (second / "index.html").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".2026-10.lock", "2026-10"]


def test_already_sent_compares_addresses_not_spelling(tmp_path: Path) -> None:
    manifest = {"sent": [SENT]}
    assert pack.already_sent(manifest, ["a@X.com"]) == SENT
    assert pack.already_sent(manifest, ["a@x.com", "b@x.com"]) is None


def test_failed_runs_are_kept_with_their_notebooks(tmp_path: Path) -> None:
    staging = stage(tmp_path, "2026-10", "x")
    (staging / "2_agents.ipynb").write_text("{}")
    (staging / "kernels.log").write_text("log")
    kept = pack.keep_failed(tmp_path, "2026-10", staging)
    assert sorted(p.name for p in kept.iterdir()) == ["2_agents.ipynb", "kernels.log"]
    assert kept.parent == tmp_path / "failed"


def test_pages_zip_holds_the_index_and_pages(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("i")
    (tmp_path / "1_a.html").write_text("a")
    names = zipfile.ZipFile(BytesIO(pack.pages_zip(tmp_path, "2026-10", ["1_a.html"]))).namelist()
    assert names == ["usage-report-2026-10/index.html", "usage-report-2026-10/1_a.html"]
