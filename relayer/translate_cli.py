"""``stbridge translate``: re-express a security in another standard, with its loss report.

The source is a canonical reading (what ``stbridge asset inspect --json`` prints: an object
with ``asset`` and optionally ``holdings``, or a bare asset), from a file or ``-`` (stdin).
The command prints the deployment plan for the target standard and the loss report as a
table: one row per feature the target does not carry as the source has it, with what
happens instead (enforced off-chain by a named relayer compliance rule, approximated, or
lost). A lossy translation is refused (exit 1) unless ``--allow-loss`` accepts its kinds.

With ``--deploy`` the plan is deployed (``--chain embedded``: a fresh in-process py-evm
chain for the EVM standards, a fresh embedded Algorand ledger for the regulated ASA; both
vanish when the command ends, so this is a rehearsal; or an EVM JSON-RPC / algod URL with
``--keystore``), read back with the target's adapter, and the read-back difference from the
source reading is printed; it must name exactly the features of the report (exit 1 if not).

Examples::

    stbridge translate --from tot.json --to regulated-asa --allow-loss all
    stbridge asset inspect --rpc $DEVNET_EVM_URL --address 0xTOT --holders --json \\
        | stbridge translate --from - --to erc1400 --allow-loss identity,rules --json
    stbridge translate --from tot.json --to erc1400 --deploy --allow-loss all
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bridge.errors import InvalidInput, PermanentError

if TYPE_CHECKING:
    from bridge.model import Asset, Holding
    from bridge.translate import LossReport, Translation

__all__ = ["app", "load_source", "parse_allow_loss"]

app = typer.Typer(invoke_without_command=True)


def load_source(path: str) -> tuple[Asset, tuple[Holding, ...]]:
    """The source reading from a JSON file (or ``-``): ``{"asset": ..., "holdings": [...]}``
    as ``stbridge asset inspect --json`` prints it, or a bare asset."""
    from pydantic import ValidationError

    from bridge.model import Asset, Holding
    from bridge.validation import invalid_input

    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput("--from", f"cannot read the source reading: {exc.strerror}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput("--from", f"not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(doc, dict):
        raise InvalidInput("--from", "a JSON object: an asset, or {asset, holdings}")
    raw_asset = doc.get("asset", doc)
    try:
        asset = Asset.model_validate(raw_asset)
        holdings = tuple(Holding.model_validate(h) for h in doc.get("holdings", ()) or ())
    except ValidationError as exc:
        raise invalid_input(exc) from None
    return asset, holdings


def parse_allow_loss(values: list[str] | None) -> Any:
    """``--allow-loss`` values (repeatable, comma-separated): ``all`` or loss kinds."""
    from bridge.translate import LossKind

    items = [v.strip() for value in values or () for v in value.split(",") if v.strip()]
    if "all" in items:
        return "all"
    known = {k.value for k in LossKind}
    for item in items:
        if item.replace("-", "_") not in known:
            raise InvalidInput(
                "--allow-loss", f"'all' or loss kinds: {', '.join(sorted(known))}", value=item
            )
    return [LossKind(i.replace("-", "_")) for i in items]


def _standard(value: str) -> str:
    from bridge.translate import SECURITY_STANDARDS

    name = value.strip().lower().replace("-", "_")
    known = [s.value for s in SECURITY_STANDARDS]
    if name not in known:
        shown = ", ".join(k.replace("_", "-") for k in known)
        raise InvalidInput("--to", f"one of {shown}", value=value)
    return name


def _print_report(report: LossReport, title: str, console: Any) -> None:
    """The loss report as a table (one row per entry), then each entry's detail."""
    from rich.table import Table

    table = Table(title=title)
    for col in ("#", "scope", "kind", "feature", "handling", "relayer rule", "holder"):
        table.add_column(col, no_wrap=True)
    for i, e in enumerate(report.entries, start=1):
        holder = "" if e.holder is None else f"{e.holder[:10]}..."
        table.add_row(
            str(i),
            e.scope,
            e.kind.value,
            e.feature.value,
            e.handling,
            e.off_chain_rule or "-",
            holder,
        )
    if not report.entries:
        table.add_row("-", "-", "-", "-", "-", "-", "nothing lost")
    console.print(table)
    for i, e in enumerate(report.entries, start=1):
        change = (
            f" (source {e.source_value} -> target {e.target_value})" if e.scope == "reading" else ""
        )
        console.print(f"{i}. {e.detail}{change}", highlight=False, soft_wrap=True)


def _plan_lines(result: Translation) -> list[str]:
    plan = result.plan.model_dump(mode="json")
    lines = [f"plan: {plan.pop('kind')}"]
    for key, value in plan.items():
        if value in ((), [], None, "", 0, False) and key not in ("decimals", "paused"):
            continue
        lines.append(f"  {key}: {json.dumps(value)}")
    return lines


def _deployer(target: str, chain: str, keystore: Path | None, password_env: str) -> tuple[Any, Any]:
    """The target chain's client and the deployer's signer, before the plan is made (an
    ibet plan names the account that deploys it)."""
    if chain != "embedded" and keystore is None:
        raise InvalidInput("--keystore", "required to deploy on a URL (the deployer signs)")
    if target == "regulated_asa":
        from adapters.algorand.chain import AlgodChain

        if chain == "embedded":
            from adapters.algorand.algod import EmbeddedAlgodClient
            from adapters.algorand.ledger import EmbeddedLedger
            from adapters.algorand.signer import AlgorandSigner

            ledger = EmbeddedLedger()
            algod = AlgodChain(EmbeddedAlgodClient(ledger, wait_timeout=0.0))
            issuer: Any = AlgorandSigner.generate()
            ledger.fund(issuer.address, 20_000_000)
        else:
            import os

            from algosdk.v2client.algod import AlgodClient

            algod = AlgodChain(AlgodClient(os.environ.get("STBRIDGE_ALGOD_TOKEN", ""), chain))
            issuer = _signer(keystore, password_env)
        return algod, issuer
    from adapters.evm.client import EvmClient

    if chain == "embedded":
        from adapters.evm.signer import EvmSigner

        client = EvmClient.embedded()
        owner: Any = EvmSigner.generate()
        client.fund(owner.address, 10**20)
    else:
        client = EvmClient.connect(chain)
        owner = _signer(keystore, password_env)
    return client, owner


def _deploy(
    result: Translation, deployer: tuple[Any, Any], metadata_dir: Path | None
) -> tuple[Any, Asset]:
    from adapters.translate import deploy_plan
    from bridge.translate import RegulatedAsaPlan

    if isinstance(result.plan, RegulatedAsaPlan):
        meta = metadata_dir or Path(tempfile.mkdtemp(prefix="stbridge-arc3-"))
        deployment = deploy_plan(result.plan, algorand=deployer, metadata_dir=meta)
    else:
        deployment = deploy_plan(result.plan, evm=deployer)
    return deployment, deployment.read()


def _signer(keystore: Path | None, password_env: str) -> Any:
    from relayer.keystore import load_signer, password_from_env

    assert keystore is not None
    return load_signer(keystore, password_from_env(password_env))


@app.callback()
def translate(
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="The source reading: a JSON file as `stbridge asset inspect --json` prints "
            "it (asset and holdings), a bare asset, or - for stdin.",
        ),
    ],
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="Target standard: erc3643, erc1400, erc1404, ibet-share, ibet-bond, "
            "regulated-asa.",
        ),
    ],
    chain: Annotated[
        str,
        typer.Option(
            help="Where --deploy deploys: 'embedded' (a fresh in-process chain of the "
            "target's family, gone when the command ends) or an EVM JSON-RPC / algod URL."
        ),
    ] = "embedded",
    deploy: Annotated[
        bool, typer.Option("--deploy", help="Deploy the plan, read it back, print the diff.")
    ] = False,
    allow_loss: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-loss",
            help="Accept these loss kinds (comma-separated or repeated): identity, rules, "
            "cross_chain_state, partitions, in_flight, controller_powers, documents, "
            "decimals; or 'all'. Without it a lossy translation is refused (exit 1).",
        ),
    ] = None,
    keystore: Annotated[
        Path | None, typer.Option(help="Keystore of the deployer (with a URL --chain).")
    ] = None,
    password_env: Annotated[
        str, typer.Option(help="Variable holding the keystore password.")
    ] = "STBRIDGE_KEYSTORE_PASSWORD",
    metadata_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where a regulated ASA's ARC-3 metadata is stored (default: a temp dir)."
        ),
    ] = None,
    issuer: Annotated[
        str | None,
        typer.Option(
            help="The EVM account that will deploy and own an ibet target (ibet always admits "
            "its issuer as a recipient). Default: the --deploy signer, else the source's "
            "issuer when it is an EVM account."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the plan, report and read-back diff as JSON.")
    ] = False,
) -> None:
    """Re-express a security in another standard: the deployment plan and a loss report
    (one row per feature the target does not carry as the source has it: enforced off-chain
    by a named relayer rule, approximated, or lost). With --deploy: deploy, read back with
    the target's adapter, print the diff against the source reading (it must equal the
    report's reading rows).

    Exit codes: 0 translated (with --deploy: the diff equals the report); 1 refused (a loss
    not accepted with --allow-loss) or the read-back disagrees; 3 bad input.

    Example: stbridge translate --from tot.json --to regulated-asa --allow-loss all
    """
    from rich.console import Console

    from bridge.translate import LossyTranslation, differences
    from bridge.translate import translate as plan_translation

    target = _standard(to)
    allowed = parse_allow_loss(allow_loss)
    asset, holdings = load_source(source)
    deployer = _deployer(target, chain, keystore, password_env) if deploy else None
    if deployer is not None and target != "regulated_asa":
        if issuer is not None and issuer.lower() != deployer[1].address.lower():
            raise InvalidInput(
                "--issuer", "with --deploy, the deployer is the issuer", value=issuer
            )
        issuer = deployer[1].address
    result = plan_translation(asset, target, holdings=holdings, allow_loss="all", issuer=issuer)
    refused = result.report.unaccepted(allowed)
    console = Console(stderr=as_json, width=max(140, Console().width))
    if refused:
        if not as_json:
            _print_report(result.report, "loss report (refused)", console)
        raise LossyTranslation(result.report, refused)
    out: dict[str, Any] = {"translation": result.model_dump(mode="json")}
    if not as_json:
        for line in _plan_lines(result):
            typer.echo(line)
        _print_report(result.report, "loss report", console)
    if deploy:
        assert deployer is not None
        deployment, reading = _deploy(result, deployer, metadata_dir)
        diff = differences(asset, reading)
        agrees = {d.feature for d in diff} == result.report.reading_features
        out["deployment"] = {
            "chain": reading.chain.model_dump(mode="json"),
            "locator": deployment.locator,
            "contracts": deployment.contracts,
            "reading": reading.model_dump(mode="json"),
            "diff": [d.model_dump(mode="json") for d in diff],
            "diff_equals_report": agrees,
        }
        if not as_json:
            typer.echo(f"deployed {target} at {deployment.locator} on {reading.chain.caip2}")
            typer.echo("read-back diff against the source reading:")
            for d in diff:
                typer.echo(f"  {d.feature.value}: {d.source} -> {d.target}")
            if not diff:
                typer.echo("  (none)")
            typer.echo("the diff equals the loss report" if agrees else "DIFF != REPORT")
        if not agrees:
            if as_json:
                typer.echo(json.dumps(out, indent=2))
            missing = sorted(
                f.value for f in {d.feature for d in diff} ^ result.report.reading_features
            )
            raise PermanentError(
                f"read-back of the deployed {target} differs from the loss report in: "
                f"{', '.join(missing)}"
            )
    if as_json:
        typer.echo(json.dumps(out, indent=2))
