"""Reports from a batch store: one self-contained HTML file with escaped names, JSONL, CSV; the CLI."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import sqlite3
import zipfile
from pathlib import Path

import pytest
from batch_helpers import jpeg, run
from typer.testing import CliRunner

from screening.batch.findings_io import findings_to_json
from screening.batch.store import ResultStore
from screening.cli import app
from screening.findings import Box, Finding, FindingKind
from screening.report.exports import write_csv, write_jsonl
from screening.report.html import write_html

EVIL = "<img src=x onerror=alert(1)>\"&'.jpg"
FORMULA = "=HYPERLINK(1).jpg"


@pytest.fixture()
def store(tmp_path: Path) -> Path:
    """A store with a warned photo whose member name is hostile HTML, an allowed one and an error."""
    zpath = tmp_path / "export.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr(EVIL, jpeg(1, (400, 300)))
        z.writestr(FORMULA, jpeg(2))
        z.writestr("broken.jpg", jpeg(3)[:900])
    path = tmp_path / "r.sqlite"
    run([zpath], path)
    logo = Finding(FindingKind.LOGO, "PKB <i>evil</i>", 0.9, Box(40, 30, 120, 90), party="pkb", election="pileg2024")
    db = sqlite3.connect(path)
    sha = db.execute("SELECT sha256 FROM photos WHERE member = ?", (EVIL,)).fetchone()[0]
    db.execute("UPDATE results SET findings_json = ? WHERE sha256 = ?", (findings_to_json([logo]), sha))
    db.commit()
    db.close()
    run([zpath], path, posting_date=dt.date(2024, 1, 21))  # a new date: the rules run again on the finding
    return path


def test_html_report_is_one_offline_file_with_everything_escaped(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    n = write_html(ResultStore(store, readonly=True), out)
    assert n == 1
    page = out.read_text(encoding="utf-8")
    assert "<img src=x" not in page and "<i>evil" not in page  # names and labels are escaped
    assert "&lt;img src=x onerror=alert(1)&gt;&quot;&amp;&#x27;.jpg" in page
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page) and "<link" not in page
    assert "default-src 'none'" in page  # even an injection could not load anything
    assert page.count('src="data:image/jpeg;base64,') == 1 and "<rect" in page
    assert page.index("onerror=alert(1)") < page.index("corrupt_image")  # warned first, then errors
    assert "berkas gambar rusak atau terpotong" in page  # the error's meaning in Indonesian, by its code
    assert "D7b" in page and "Civil servants may not" in page and "ASN dilarang" in page
    assert 'data-parties="pkb"' in page and '<option value="pkb">' in page
    bare = tmp_path / "bare.html"
    write_html(ResultStore(store, readonly=True), bare, thumbnails=False)
    assert "base64" not in bare.read_text(encoding="utf-8")


def test_jsonl_and_csv_have_one_record_per_photo(store: Path, tmp_path: Path) -> None:
    db = ResultStore(store, readonly=True)
    assert write_jsonl(db, tmp_path / "r.jsonl") == 3
    records = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text(encoding="utf-8").splitlines()]
    by_member = {r["member"]: r for r in records}
    assert by_member[EVIL]["result"]["schema"] == "screening.verdict/1"
    assert by_member[EVIL]["result"]["path"].endswith(EVIL)
    assert by_member["broken.jpg"]["error"]["code"] == "corrupt_image"
    assert write_csv(db, tmp_path / "r.csv") == 3
    with open(tmp_path / "r.csv", encoding="utf-8-sig", newline="") as fh:
        table = {r["member"]: r for r in csv.DictReader(fh)}
    assert table["'" + FORMULA]["verdict"] == "allow"  # a formula-looking name is defused
    assert table[EVIL]["rules"] == "party_attribute" and table[EVIL]["parties"] == "pkb"


def test_cli_batch_and_report(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.jpg").write_bytes(jpeg(1))
    store = tmp_path / "r.sqlite"
    runner = CliRunner()
    args = ["batch", str(src), "--store", str(store), "--workers", "1", "--detectors", "", "--quiet"]
    res = runner.invoke(app, [*args, "--date", "2024-01-20"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["report", str(store), "--html", str(tmp_path / "r.html"), "--csv", str(tmp_path / "c")])
    assert res.exit_code == 0 and (tmp_path / "r.html").is_file() and (tmp_path / "c").is_file()
    res = runner.invoke(app, [*args, "--rules", str(tmp_path / "missing.toml")])
    assert res.exit_code == 2


def test_html_report_draws_a_logos_outline_and_boxes_the_rest(tmp_path: Path) -> None:
    zpath = tmp_path / "a.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("flag.jpg", jpeg(1, (400, 300)))
    path = tmp_path / "r.sqlite"
    run([zpath], path)
    tilted = [[100.0, 20.0], [180.0, 100.0], [100.0, 180.0], [20.0, 100.0]]
    logo = Finding(FindingKind.LOGO, "PKB", 0.9, Box(20, 20, 160, 160), party="pkb", election="pileg2024",
                   detail={"outline": tilted})  # fmt: skip
    odd = Finding(FindingKind.LOGO, "PKB", 0.8, Box(200, 50, 60, 40), party="pkb", election="pileg2024",
                  detail={"outline": "<script>"})  # fmt: skip
    db = sqlite3.connect(path)
    db.execute("UPDATE results SET findings_json = ?", (findings_to_json([logo, odd]),))
    db.commit()
    db.close()
    run([zpath], path, posting_date=dt.date(2024, 1, 21))
    out = tmp_path / "report.html"
    write_html(ResultStore(path, readonly=True), out)
    page = out.read_text(encoding="utf-8")
    assert '<polygon points="100,20 180,100 100,180 20,100"' in page
    assert '<rect x="200" y="50" width="60" height="40"' in page  # an outline that is not points: its box
    assert page.count("<script>") == 1  # the page's own filter script
