"""The ``stbridge`` command line.

The core commands live here (``version``, ``schema export``); command groups of adapters
and other packages are plugged in through the entry-point group ``stbridge.cli`` (each
entry point names a ``typer.Typer``), exactly as a third-party package would add one.

Errors are one line on stderr and a non-zero exit, never a traceback:

====  ==========================================================
code  meaning
====  ==========================================================
0     success
1     refused / failed (a ``PermanentError``)
3     bad input: usage errors (unknown option, missing argument), ``InvalidInput``,
      ``ConfigError``
4     transient failure, safe to retry (``TransientError``)
====  ==========================================================

Commands of their own define further codes in their help: ``compliance check`` answers
2 for "needs information", which is why usage errors share code 3 with bad input.
"""

from __future__ import annotations

import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from bridge import __version__
from bridge.errors import BridgeError
from bridge.schemas import drifted, write_all
from bridge.validation import describe

__all__ = ["CLI_ENTRY_POINT_GROUP", "app", "main"]

CLI_ENTRY_POINT_GROUP = "stbridge.cli"

app = typer.Typer(
    name="stbridge",
    help=(
        "stbridge connects security-token platforms across chains and borders: it reads a "
        "token wherever it lives into one canonical model, checks the securities law of both "
        "sides of a trade, and settles it atomically with hash-time-locked contracts."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

schema_app = typer.Typer(
    help="JSON Schemas of the canonical model (specs/schemas/).", no_args_is_help=True
)
app.add_typer(schema_app, name="schema")


def _repo_specs_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "specs" / "schemas"


@app.command()
def version() -> None:
    """Print the stbridge version."""
    typer.echo(f"stbridge {__version__}")


@schema_app.command("export")
def schema_export(
    out: Annotated[
        Path | None,
        typer.Option(help="Directory to write into (default: specs/schemas of this checkout)."),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Write nothing; exit 1 if the files on disk differ from the models.",
        ),
    ] = False,
) -> None:
    """Write one JSON Schema per public model, or check the written ones are current."""
    directory = out or _repo_specs_dir()
    if check:
        problems = drifted(directory)
        if problems:
            typer.echo(
                f"schemas in {directory} are out of date: {', '.join(problems)}; "
                "run `stbridge schema export`",
                err=True,
            )
            raise typer.Exit(1)
        typer.echo(f"schemas in {directory} match the models")
        return
    written = write_all(directory)
    typer.echo(f"wrote {len(written)} schemas to {directory}")


def _load_plugins() -> None:
    for ep in entry_points(group=CLI_ENTRY_POINT_GROUP):
        try:
            sub = ep.load()
        except Exception as exc:  # one broken plugin must not take the whole CLI down
            print(f"stbridge: command group {ep.name!r} unavailable: {exc}", file=sys.stderr)
            continue
        if isinstance(sub, typer.Typer):
            app.add_typer(sub, name=ep.name)


_plugins_loaded = False


def _ensure_plugins() -> None:
    global _plugins_loaded
    if not _plugins_loaded:
        _load_plugins()
        _plugins_loaded = True


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; map stbridge errors to one line and an exit code."""
    _ensure_plugins()
    try:
        result = app(args=argv, standalone_mode=False, prog_name="stbridge")
    except BridgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ValidationError as exc:
        print(f"error: {describe(exc)}", file=sys.stderr)
        return 3
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return 1
    except typer.TyperException as exc:  # usage errors: click's own one-line message
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            print(f"error: {exc}", file=sys.stderr)
        code = int(getattr(exc, "exit_code", 3))
        return 3 if code == 2 else code
    except Exception as exc:  # anything unforeseen: still one line, no traceback
        print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
