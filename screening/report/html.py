"""A self-contained HTML report of a batch results store: one file that opens offline (no external
assets; a Content-Security-Policy forbids loading any), warned photos first with thumbnails and boxes,
SKB points and explanations in Indonesian and English, filters by rule, party, candidate and severity,
summary counts, and the errors with their reason.

Every string from the store is escaped: file and member names come from whoever made the archive.
The file is written as it goes, so a store of any size makes a report without holding it in memory.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
from collections import Counter
from pathlib import Path
from typing import IO, Any

from screening.batch.store import ResultStore
from screening.findings import outline_of
from screening.report.error_words import error_id
from screening.report.exports import PhotoReport, iter_photo_reports

ALLOWED_LISTED = 2000  # allowed photos are listed by name up to this many (the count is always given)
_SEVERITY_ORDER = "CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 ELSE 3 END"
_KIND_COLOR = {"face": "#d7263d", "logo": "#1b998b", "text": "#f49d37", "gesture": "#6a4c93"}


def esc(value: Any) -> str:
    """HTML-escape anything (quotes too: values also go into attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def write_html(store: ResultStore, out: Path, *, thumbnails: bool = True, title: str = "Screening report") -> int:
    """Write the report for ``store`` to ``out``; returns the number of warned photos in it."""
    summary = _summarise(store)
    with open(out, "w", encoding="utf-8") as fh:
        _head(fh, title)
        _summary(fh, summary, store)
        _filters(fh, summary)
        fh.write('<h2>Foto dengan peringatan / Warned photos</h2>\n<div id="cards">\n')
        n = 0
        warned = iter_photo_reports(store, where="WHERE verdict = 'warn'", order=f"{_SEVERITY_ORDER}, source, member")
        for photo in warned:
            thumb = store.thumbnail(photo.sha256) if thumbnails and photo.sha256 else None
            _card(fh, photo, thumb)
            n += 1
        if n == 0:
            fh.write("<p>Tidak ada / None.</p>\n")
        fh.write("</div>\n")
        _errors(fh, store)
        _allowed(fh, store, summary.counts.get("allow", 0))
        _skipped(fh, store)
        fh.write(f"<script>{_SCRIPT}</script>\n</body>\n</html>\n")
    return n


class _Summary:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.severity: Counter[str] = Counter()
        self.rules: Counter[str] = Counter()
        self.rule_titles: dict[str, str] = {}
        self.parties: Counter[str] = Counter()
        self.candidates: Counter[str] = Counter()
        self.labels: dict[tuple[str, str], str] = {}
        self.versions: Counter[str] = Counter()


def _summarise(store: ResultStore) -> _Summary:
    s = _Summary()
    for p in iter_photo_reports(store):
        s.counts[p.verdict] += 1
        if p.registry_version:
            s.versions[f"registry:{p.registry_version} rules:{p.rules_version}"] += 1
        if p.verdict != "warn" or p.result is None:
            continue
        s.severity[p.severity] += 1
        for v in p.result.get("violations", []):
            s.rules[v["rule"]] += 1
            s.rule_titles.setdefault(v["rule"], f"{v['title']['id']} / {v['title']['en']}")
        for field, counter in (("party", s.parties), ("candidate", s.candidates)):
            for value in p.refs(field):
                counter[value] += 1
        for f in p.result.get("findings", []):
            for field in ("party", "candidate"):
                if f.get(field) and f.get("kind") in ("face", "logo"):
                    s.labels.setdefault((field, f[field]), f.get("label") or f[field])
    return s


def _head(fh: IO[str], title: str) -> None:
    csp = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
    fh.write(
        '<!DOCTYPE html>\n<html lang="id">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n<h1>{esc(title)}</h1>\n"
    )


def _summary(fh: IO[str], s: _Summary, store: ResultStore) -> None:
    total = sum(s.counts.values())
    skipped = sum(n for _, n in store.skipped_reasons())
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    fh.write(f'<p class="meta">{esc(store.path.name)} &middot; {esc(now)}</p>\n<table class="summary">\n')
    rows = [
        ("Foto / Photos", total),
        ("Aman / Allow", s.counts.get("allow", 0)),
        ("Peringatan / Warn", s.counts.get("warn", 0)),
        ("Galat / Error", s.counts.get("error", 0)),
        ("Bukan foto, dilewati / Not photos, skipped", skipped),
    ]
    rows += [(f"Tingkat / Severity {sev}", s.severity[sev]) for sev in ("high", "medium", "low") if s.severity[sev]]
    for label, n in rows:
        fh.write(f"<tr><th>{esc(label)}</th><td>{n}</td></tr>\n")
    fh.write("</table>\n")
    if s.rules:
        fh.write('<table class="summary"><tr><th>Aturan / Rule</th><th>Foto / Photos</th></tr>\n')
        for rule, n in s.rules.most_common():
            fh.write(f"<tr><td><code>{esc(rule)}</code> {esc(s.rule_titles.get(rule, ''))}</td><td>{n}</td></tr>\n")
        fh.write("</table>\n")
    if s.versions:
        fh.write('<p class="meta">' + "; ".join(f"{esc(v)} ({n})" for v, n in s.versions.most_common()) + "</p>\n")


def _filters(fh: IO[str], s: _Summary) -> None:
    def select(ident: str, label: str, options: list[tuple[str, str]]) -> str:
        opts = "".join(f'<option value="{esc(v)}">{esc(t)}</option>' for v, t in options)
        everything = '<option value="">(semua / all)</option>'
        return f'<label>{esc(label)} <select id="{ident}">{everything}{opts}</select></label>\n'

    fh.write('<div class="filters">\n')
    fh.write(select("f-rule", "Aturan / Rule", [(r, f"{r} ({n})") for r, n in s.rules.most_common()]))
    fh.write(
        select(
            "f-party",
            "Partai / Party",
            [(p, f"{s.labels.get(('party', p), p)} ({n})") for p, n in s.parties.most_common()],
        )
    )
    fh.write(
        select(
            "f-cand",
            "Calon / Candidate",
            [(c, f"{s.labels.get(('candidate', c), c)} ({n})") for c, n in s.candidates.most_common()],
        )
    )
    fh.write(select("f-sev", "Tingkat / Severity", [(v, v) for v in ("high", "medium", "low") if s.severity[v]]))
    fh.write('<span class="meta">Ditampilkan / Shown: <b id="shown"></b></span>\n</div>\n')


def _card(fh: IO[str], p: PhotoReport, thumb: bytes | None) -> None:
    result = p.result or {}
    findings = result.get("findings", [])
    used = {i for v in result.get("violations", []) for i in v.get("findings", [])}
    attrs = (
        f'data-sev="{esc(p.severity)}" data-rules="{esc("|".join(p.rules))}" '
        f'data-parties="{esc("|".join(p.refs("party")))}" data-cands="{esc("|".join(p.refs("candidate")))}"'
    )
    fh.write(f'<div class="card sev-{esc(p.severity)}" {attrs}>\n')
    if thumb:
        w, h = int(result.get("width") or 1), int(result.get("height") or 1)
        b64 = base64.b64encode(thumb).decode("ascii")
        fh.write(f'<div class="thumb"><img alt="" src="data:image/jpeg;base64,{b64}">')
        fh.write(f'<svg viewBox="0 0 {w} {h}" preserveAspectRatio="none">')
        for i, f in enumerate(findings):
            x, y, bw, bh = (float(v) for v in f.get("box", (0, 0, 0, 0)))
            color = _KIND_COLOR.get(str(f.get("kind")), "#ffffff")
            dash = "" if i in used else ' stroke-dasharray="4 3"'
            outline = outline_of(f.get("detail"))  # a logo's outline as found (tilted, bent)
            if outline:
                points = " ".join(f"{px:.0f},{py:.0f}" for px, py in outline)
                shape, end = f'polygon points="{points}"', "polygon"
            else:
                shape, end = f'rect x="{x:.0f}" y="{y:.0f}" width="{bw:.0f}" height="{bh:.0f}"', "rect"
            fh.write(
                f'<{shape} stroke="{color}"{dash} fill="none" stroke-width="2" vector-effect="non-scaling-stroke">'
                f"<title>{i + 1}. {esc(f.get('kind'))}: {esc(f.get('label'))}</title></{end}>"
            )
        fh.write("</svg></div>\n")
    fh.write(f'<div class="body"><div class="path">{esc(p.path)}</div>\n')
    fh.write(f'<div><span class="badge sev-{esc(p.severity)}">{esc(p.severity)}</span></div>\n')
    for v in result.get("violations", []):
        title = v.get("title") or {}
        msg = v.get("message") or {}
        ctx = v.get("context") or {}
        points = ", ".join(v.get("points", []))
        fh.write(
            f'<div class="viol"><b>{esc(points)}</b> &middot; <code>{esc(v.get("rule"))}</code> &middot; '
            f"{esc(v.get('track'))} &middot; {esc(v.get('severity'))}<br>"
            f'<b lang="id">{esc(title.get("id"))}</b> / <b lang="en">{esc(title.get("en"))}</b>'
            f'<p lang="id">{esc(msg.get("id"))}</p><p lang="en" class="en">{esc(msg.get("en"))}</p>'
        )
        if ctx:
            fh.write(f'<p class="ctx" lang="id">{esc(ctx.get("id"))}</p>')
            fh.write(f'<p class="ctx en" lang="en">{esc(ctx.get("en"))}</p>')
        fh.write("</div>\n")
    if findings:
        fh.write('<ol class="findings">')
        for f in findings:
            keys = ("candidate", "party", "number", "election")
            refs = ", ".join(f"{k} {f[k]}" for k in keys if f.get(k) is not None)
            fh.write(
                f"<li>{esc(f.get('kind'))}: {esc(f.get('label'))} ({float(f.get('score', 0)):.2f})"
                f"{' &middot; ' + esc(refs) if refs else ''}</li>"
            )
        fh.write("</ol>\n")
    fh.write("</div></div>\n")


def _errors(fh: IO[str], store: ResultStore) -> None:
    fh.write("<h2>Galat / Errors</h2>\n")
    rows = iter_photo_reports(store, where="WHERE verdict = 'error'")
    first = next(rows, None)
    if first is None:
        fh.write("<p>Tidak ada / None.</p>\n")
        return
    fh.write('<table class="errors"><tr><th>File</th><th>Kode / Code</th><th>Alasan / Reason</th></tr>\n')
    for p in (first, *rows):
        fh.write(
            f"<tr><td>{esc(p.path)}</td><td><code>{esc(p.error_code)}</code></td>"
            f'<td><span lang="id">{esc(error_id(p.error_code))}</span> '
            f'<span lang="en" class="en">{esc(p.error_message)}</span></td></tr>\n'
        )
    fh.write("</table>\n")


def _allowed(fh: IO[str], store: ResultStore, count: int) -> None:
    fh.write(f"<h2>Aman / Allowed ({count})</h2>\n")
    if not count:
        return
    first = f" (first {ALLOWED_LISTED})" if count > ALLOWED_LISTED else ""
    fh.write(f"<details><summary>Daftar / List{first}</summary><ul>\n")
    for i, p in enumerate(iter_photo_reports(store, where="WHERE verdict = 'allow'")):
        if i >= ALLOWED_LISTED:
            break
        fh.write(f"<li>{esc(p.path)}</li>\n")
    fh.write("</ul></details>\n")


def _skipped(fh: IO[str], store: ResultStore) -> None:
    reasons = store.skipped_reasons()
    if reasons:
        fh.write("<h2>Dilewati / Skipped</h2>\n<p>" + ", ".join(f"{esc(r)}: {n}" for r, n in reasons) + "</p>\n")


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.5em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
.meta{color:#666}.summary{border-collapse:collapse;margin:.5em 0}
.summary th,.summary td,.errors th,.errors td{border:1px solid #ddd;padding:.2em .6em;text-align:left}
.errors{border-collapse:collapse;width:100%}.errors td{word-break:break-all}
.filters{position:sticky;top:0;background:#fafafa;padding:.5em;border:1px solid #ddd;
 display:flex;gap:1em;flex-wrap:wrap}
.card{display:flex;gap:1em;border:1px solid #ddd;border-left:6px solid #999;margin:.6em 0;padding:.6em}
.card.sev-high{border-left-color:#d7263d}.card.sev-medium{border-left-color:#f49d37}
.card.sev-low{border-left-color:#f6d55c}
.thumb{position:relative;flex:0 0 auto;align-self:flex-start;line-height:0}
.thumb img{max-width:240px;max-height:240px;display:block}
.thumb svg{position:absolute;left:0;top:0;width:100%;height:100%}
.body{flex:1;min-width:0}.path{font-family:monospace;word-break:break-all;font-weight:bold}
.badge{display:inline-block;padding:0 .5em;border-radius:.6em;color:#fff;background:#999}
.badge.sev-high{background:#d7263d}.badge.sev-medium{background:#f49d37}.badge.sev-low{background:#c9a227}
.viol{margin:.4em 0;padding:.3em .5em;background:#f7f7f7}.viol p{margin:.2em 0}.en,.ctx{color:#555}
.ctx{font-style:italic}.findings{margin:.3em 0;color:#444}
"""

_SCRIPT = """
(function(){
  var ids=['f-rule','f-party','f-cand','f-sev'], keys=['rules','parties','cands','sev'];
  function apply(){
    var vals=ids.map(function(i){return document.getElementById(i).value;}), n=0;
    document.querySelectorAll('.card').forEach(function(el){
      var ok=vals.every(function(v,k){return !v||(el.dataset[keys[k]]||'').split('|').indexOf(v)>=0;});
      el.hidden=!ok; if(ok){n++;}
    });
    document.getElementById('shown').textContent=String(n);
  }
  ids.forEach(function(i){document.getElementById(i).addEventListener('change',apply);});
  apply();
})();
"""
