"""The command line: the thin shell around `render`. It reads files, stdin and the
environment and picks the exit code; every command runs inside `renderer.guard`
(the group wraps each command it is given, lazy ones included), which prints the
one-line error. Heavy imports happen inside the commands that need them, so
`render` starts fast."""

from __future__ import annotations

import os
import sys
from datetime import timedelta

import click

from renderer import __version__, guard
from renderer.errors import RenderError
from renderer.shell import (
    OVERLAY_ENV,
    RENDER_OPTIONS,
    overlay_paths,
    prepare_bytes,
    read_inputs,
    render_stream,
    run_render,
)

EPILOG = """\b
Examples:
  helm template pg ./chart | cnpg-render render --overlay overlay.yaml --release pg
  helm install pg ./chart --post-renderer cnpg-render \\
      --post-renderer-args=--overlay=$PWD/overlay.yaml
  CNPG_RENDER_OVERLAY=overlay.yaml cnpg-render manifests.yaml
"""


# The edges for ArgoCD and kustomize live in their own modules, imported only when
# their command runs, so `render` does not pay for them.
LAZY_COMMANDS = {
    "argocd-generate": ("renderer.argocd", "command"),
    "argocd-init": ("renderer.argocd", "init_command"),
    "flux": ("renderer.flux", "command"),
    "kustomize-plugin": ("renderer.kustomize", "plugin_command"),
    "krm": ("renderer.kustomize", "krm_command"),
}


class Commands(click.Group):
    """`cnpg-render --overlay x` (Helm 3's post-renderer call) means `render`; the edge
    commands are loaded on demand; every command runs inside the guard. Shell completion
    (resilient parsing) of a bare `cnpg-render ` lists the commands rather than completing
    `render`."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        if cmd.callback is not None:
            cmd.callback = guard.wrap(name or cmd.name or "?", cmd.callback)
        super().add_command(cmd, name)

    def list_commands(self, ctx):
        return sorted([*self.commands, *LAZY_COMMANDS])

    def get_command(self, ctx, name):
        if name in LAZY_COMMANDS and name not in self.commands:
            import importlib

            module, attribute = LAZY_COMMANDS[name]
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def parse_args(self, ctx, args):
        commands = {*self.commands, *LAZY_COMMANDS}
        if args and args[0] not in {*commands, "--help", "-h", "--version"}:
            _refuse_unknown_command(args[0], sorted(commands), ctx)
            args = ["render", *args]
        elif not args and not sys.stdin.isatty() and not ctx.resilient_parsing:
            args = ["render"]
        return super().parse_args(ctx, args)


def _refuse_unknown_command(word: str, commands: list[str], ctx: click.Context) -> None:
    """A first word that is neither an option nor a file, and looks like a command
    rather than a path, is a mistyped command (`rendr`), not a manifest file."""
    if word.startswith("-") or "/" in word or "." in word or os.path.exists(word):
        return
    import difflib

    close = difflib.get_close_matches(word, commands, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}?" if close else f"the commands are {', '.join(commands)}"
    raise click.UsageError(f"no such command '{word}' (and no such file); {hint}", ctx)


# click >= 8.2 raises this for a group called without a command (8.1 prints the help itself).
_HELP_INSTEAD = getattr(click.exceptions, "NoArgsIsHelpError", ())


def run(args: list[str]) -> None:
    """The click CLI, guarded as a whole too: what click itself does (parsing, --help on a
    full disk) fails in one line like a command."""
    guard.run("cnpg-render", _click, args)


def _click(args: list[str]) -> None:
    """Usage errors in the one-line form too (exit 2): Helm 4 users only see them through
    the last-error file."""
    try:
        code = main.main(args=args, prog_name="cnpg-render", standalone_mode=False)
    except _HELP_INSTEAD as exc:  # `cnpg-render` alone on a terminal: the help, as click shows it
        guard.say_raw(exc.format_message())
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        ctx = exc.ctx if isinstance(exc, click.UsageError) else None  # only a usage error has one
        command = ctx.info_name if ctx is not None and ctx.parent is not None else None
        guard.note(command=command)
        see = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        guard.fail(RenderError(command or "usage", exc.format_message() + see), exc.exit_code)
    except click.Abort:
        guard.fail(RenderError("usage", "interrupted"), guard.INTERRUPTED_EXIT)
    sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=Commands, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnpg-render")
def main() -> None:
    """Inject CloudNativePG backup and recovery configuration into rendered manifests.

    Reads a multi-document YAML stream, edits the CNPG Clusters the overlay names, adds
    their credentials Secrets and ScheduledBackups, and decides the backup lineage
    (serverName revision) so a restore never writes into the archive it reads."""


# Paths (click.Path) so that shell completion offers file names.
files_argument = click.argument("files", nargs=-1, metavar="[FILE|-]...", type=click.Path())
overlay_option = click.option(*RENDER_OPTIONS["overlays"][0], "overlays", multiple=True, metavar="PATH",
                              type=click.Path(),
                              help="Overlay file (repeatable; later files override earlier ones). "
                                   f"Default: ${OVERLAY_ENV}.")
release_option = click.option(*RENDER_OPTIONS["release"][0], "release", metavar="NAME",
                              help="Release name for the default destinationPath (default: the Cluster's "
                                   "app.kubernetes.io/instance label).")
namespace_option = click.option(*RENDER_OPTIONS["namespace"][0], "namespace", metavar="NS",
                                help="Namespace for added objects when the Cluster has none.")


def render_inputs(command):
    """The options and arguments every rendering command takes."""
    return files_argument(decorate(command, [overlay_option, release_option, namespace_option]))


ca_bundle_option = click.option("--ca-bundle", metavar="FILE", help="CA bundle (PEM) for the store check when the "
                                "overlay's endpointCA names a Secret that only the cluster holds.")
check_store_option = click.option("--check-store", is_flag=True, help="Read the object store (read-only): refuse a "
                                  "recovery from a lineage without a completed base backup and backups into a lineage "
                                  "holding WAL; resolve revision: auto.")
# Where the live state comes from (renderer.gather), for every command that reads it.
LIVE_OPTIONS = (
    click.option("--live", metavar="FILE|-", help="Live Clusters as `kubectl get clusters.postgresql.cnpg.io -A "
                 "-o yaml` prints them: a running Cluster keeps its lineage."),
    click.option("--live-kubectl", is_flag=True, help="Read the live Clusters with kubectl (your kubeconfig)."),
    click.option("--context", "kube_context", metavar="NAME", help="kube context for --live-kubectl."),
)
allow_lineage_change_option = click.option("--allow-lineage-change", is_flag=True, help="Let a running Cluster's "
                                           "backup lineage change (warns: point-in-time recovery has a gap until the "
                                           "next base backup).")


def decorate(command, options):
    """`command` with click `options` (decorators), the first listed first in --help."""
    for option in reversed(options):
        command = option(command)
    return command


def facts_options(command):
    """--check-store, --live, --live-kubectl, --context, --allow-lineage-change (renderer.gather)."""
    return decorate(command, [check_store_option, *LIVE_OPTIONS, allow_lineage_change_option, ca_bundle_option])


def live_options(command):
    """--live, --live-kubectl, --context and --ca-bundle: `verify` always reads the store."""
    return decorate(command, [*LIVE_OPTIONS, ca_bundle_option])


class Duration(click.ParamType):
    """A duration as Go and kubectl write it (`90s`, `10m`, `1h30m`), not negative."""

    name = "duration"

    def convert(self, value, param, ctx) -> timedelta:
        if isinstance(value, timedelta):
            return value
        from renderer.cron import parse_duration

        try:
            parsed = parse_duration(str(value))
        except ValueError:
            self.fail(f"'{value}' is not a duration: write it as 90s, 10m or 1h30m", param, ctx)
        if parsed < timedelta(0):
            self.fail(f"'{value}' is negative", param, ctx)
        return parsed


@main.command(epilog=EPILOG)
@render_inputs
@facts_options
def render(overlays, release, namespace, files, **facts):
    """Render: read manifests (files or stdin), write them with backups injected.

    Nothing is written to stdout unless the whole input was processed."""
    render_stream(overlays, release, namespace, files, facts)


@main.command()
def schema():
    """Print the overlay's JSON Schema (for editors: yaml-language-server)."""
    import json

    from renderer.overlay.schema import json_schema

    guard.emit([json.dumps(json_schema(), indent=2), "\n"])


DIFF_TROUBLE = 2  # diff(1) and kubectl diff: 0 no differences, 1 differences, 2 trouble


@main.command()
@render_inputs
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
@facts_options
@guard.guarded(failure_exit=DIFF_TROUBLE)
def diff(overlays, release, namespace, color, files, **facts):
    """Show, per document, what render changes (secret values masked).

    Exits as diff(1) does: 0 when render changes nothing, 1 when it changes
    something, 2 when it cannot tell (bad input, bad overlay)."""
    from renderer.report import colour, document_diffs

    rendered = run_render(overlays, release, namespace, files, facts)
    guard.warn(rendered.notices)
    coloured = color == "always" or (color == "auto" and sys.stdout is not None and sys.stdout.isatty())
    lines = [line.rstrip("\n") for _, diff_lines in document_diffs(rendered) for line in diff_lines]
    guard.emit(f"{colour(line) if coloured else line}\n" for line in lines)
    if lines:
        sys.exit(1)


@main.command()
@render_inputs
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--exit-code", "exit_code", is_flag=True, help="For CI, with --check-store or --live: exit 0 when "
              "every verdict is safe, 2 when a render would be refused, 3 when something could not be checked.")
@facts_options
def plan(overlays, release, namespace, output, exit_code, files, **facts):
    """One row per Cluster: mode, release, the lineage it reads and writes, revisions, schedules.

    With --check-store (and --live): the lineages found, their database (system id),
    the newest recoverable point, the verdict and the revisions that would be safe;
    unsafe Clusters are shown, not refused."""
    from renderer.report import exit_code as verdicts_exit
    from renderer.report import facts_table, plan_rows, plan_table

    if exit_code and not (facts["check_store"] or facts["live"] is not None or facts["live_kubectl"]):
        raise RenderError("--exit-code", "needs verdicts: add --check-store (and --live FILE or --live-kubectl)")
    rendered = run_render(overlays, release, namespace, files, facts, collect=True)
    rows = plan_rows(rendered)
    if output == "json":
        import json

        guard.emit([json.dumps(rows, indent=2), "\n"])
    else:
        tables = [plan_table(rows)] + (["", facts_table(rows)] if any("facts" in row for row in rows) else [])
        guard.emit(f"{table}\n" for table in tables)
    if exit_code:
        sys.exit(verdicts_exit(rows))


@main.command()
@render_inputs
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--first-hours", is_flag=True, help="Accept WAL arriving without a base backup while the first one is "
              "not due yet (says when it is due).")
@click.option("--wait", type=Duration(), default="0s", metavar="DURATION", help="Check again every --interval until "
              "every Cluster is confirmed or DURATION is up, e.g. 10m.")
@click.option("--interval", type=Duration(), default="15s", show_default=True, metavar="DURATION",
              help="How often --wait checks (1s to 5m).")
@click.option("--max-wal-age", type=Duration(), default="10m", show_default=True, metavar="DURATION",
              help="The newest archived WAL may be this old (CNPG archives at least every 5 minutes while "
                   "something is written; an idle database archives nothing).")
@click.option("--backup-grace", type=Duration(), default="1h", show_default=True, metavar="DURATION",
              help="How long a base backup may run after its schedule started it.")
@live_options
def verify(overlays, release, namespace, output, first_hours, wait, interval, max_wal_age, backup_grace, files,
           **live):
    """After deploying: confirm that every Cluster with backups archives WAL and has a base backup.

    Reads each Cluster's write lineage in the object store (read-only): the newest WAL and
    its age, the newest completed base backup, the database's system id; with --live or
    --live-kubectl also the Cluster's ContinuousArchiving condition and its
    ScheduledBackups. Exits 0 when every Cluster is confirmed, 2 when one is not (the
    table says what is missing and where to look), 3 when one could not be checked."""
    import json

    from renderer import verify as checks
    from renderer.gather import FactOptions, check_options

    if not timedelta(seconds=1) <= interval <= timedelta(minutes=5):
        raise RenderError("--interval", "must be between 1s and 5m")
    options = FactOptions(check_store=True, scheduled=True, **live)
    check_options(options, files)
    prepared = prepare_bytes(overlays, release, namespace, read_inputs(files))
    confirmations, now = _verify_until(prepared, options, checks.Policy(max_wal_age, backup_grace, first_hours), wait,
                                       interval)
    rows = [checks.row(c, now) for c in confirmations]
    if not rows:
        guard.say("warning", "no Cluster with backups in the input: nothing to verify")
    guard.emit([json.dumps(rows, indent=2) if output == "json" else checks.table(rows), "\n"])
    sys.exit(checks.exit_code(confirmations))


def _verify_until(prepared, options, policy, wait: timedelta, interval: timedelta):
    """(Confirmations, when) of the last check: checks until every Cluster is confirmed,
    one cannot be checked, or `wait` is up. A live file is a snapshot, read once (it may
    be stdin); kubectl and the store are read again on every check."""
    import dataclasses
    import time
    from datetime import UTC, datetime

    from renderer import verify as checks
    from renderer.gather import gather
    from renderer.records import replace
    from renderer.render import cnpg_documents, finish

    deadline, snapshot, scheduled = time.monotonic() + wait.total_seconds(), None, None
    while True:
        facts = gather(prepared.planned.plans, options, prepared.secret)
        if options.live is not None:
            snapshot = snapshot or (facts.live, facts.scheduled)
            options = dataclasses.replace(options, live=None)
        facts = replace(facts, live=snapshot[0], scheduled=snapshot[1]) if snapshot else facts
        now = datetime.now(UTC)
        rendered = finish(prepared, facts, collect=True)
        if scheduled is None:  # the rendered ScheduledBackups do not depend on the facts
            scheduled = checks.scheduled_in((o for _, o in cnpg_documents(rendered.output.getvalue())),
                                            prepared.planned.namespace)
        confirmations = [checks.confirm(p, facts, scheduled, policy, now) for p, _ in rendered.result.clusters
                         if p.backup is not None]
        remaining = deadline - time.monotonic()
        if checks.exit_code(confirmations) != checks.EXIT_NOT_CONFIRMED or remaining <= 0:
            return confirmations, now
        pending = [c for c in confirmations if c.state == checks.NOT_CONFIRMED]
        guard.say("waiting", f"{len(pending)} of {len(confirmations)} Clusters not confirmed yet "
                             f"({pending[0].cluster}: {pending[0].missing[0].what}); "
                             f"checking again in {checks.duration(interval)}")
        time.sleep(min(interval.total_seconds(), remaining))


@main.command()
@click.argument("name")
@overlay_option
@click.option("--check-store", is_flag=True, help="Let the object store decide: read the newest lineage holding a "
              "completed base backup (refuse when there is none), write the next unused revision. Needs the manifests.")
@ca_bundle_option
@release_option
@namespace_option
@files_argument
def bump(name, overlays, check_store, ca_bundle, release, namespace, files):
    """Edit the overlay for the next restore of entry NAME (in place, comments kept).

    Sets mode: recovery, the recovery revision to the lineage written now and the
    backup revision to the next one. With several --overlay files, the merged values
    are read and the last file is edited. Prints what changed."""
    from renderer import bump as bumping
    from renderer.extras import require

    require("ruamel.yaml", "bump")
    paths = overlay_paths(overlays)
    picks = None
    if check_store:
        from renderer.transform import Context

        picks = bumping.store_picks(paths, name, read_inputs(files), Context(release=release, namespace=namespace),
                                    ca_bundle)
    elif files or ca_bundle:
        raise RenderError(files[0] if files else "--ca-bundle", "is read only with --check-store")
    lines, plan = bumping.bump(paths, name, picks)
    guard.emit(f"{line}\n" for line in [*lines, bumping.summary(name, plan)])


@main.command()
@click.option("--crds", "crds", metavar="DIR", type=click.Path(exists=True, file_okay=False),
              help="Directory of CRDs (e.g. `kubectl get crd clusters.postgresql.cnpg.io -o yaml`). "
                   "Without it only the admission rules are checked.")
@files_argument
def validate(crds, files):
    """Check the CNPG objects of a stream against CRD schemas and admission rules.

    Prints one line per problem (document, kind/name, field) and exits 1 if any."""
    from renderer import validate as checks
    from renderer.render import cnpg_documents

    try:
        schemas = _schemas(crds)
        problems = [p for index, obj in cnpg_documents(read_inputs(files)) for p in checks.check(obj, schemas, index)]
    except checks.CrdError as exc:
        raise RenderError(f"--crds {crds}", str(exc)) from None
    if schemas is None:
        guard.say("warning", "no --crds: checking admission rules only")
    for problem in problems:
        guard.say("invalid", str(problem))
    if problems:
        sys.exit(1)


def _schemas(directory):
    """The CRD schemas of `directory` (jsonschema is an extra), or None: admission rules only."""
    if directory is None:
        return None
    from renderer import validate as checks
    from renderer.extras import require

    require("jsonschema", "validate --crds")
    require("re2", "validate --crds")
    return checks.Schemas.from_dir(directory)


@main.command("last-error")
@click.option("--path", "show_path", is_flag=True, help="Print where the last error is kept instead.")
@guard.guarded(record=False)
def last_error(show_path: bool) -> None:
    """Print the last error, when and where it happened, and whether a later run
    succeeded (Helm 4 hides post-renderer stderr)."""
    from renderer import lasterror

    lines = [str(lasterror.path())] if show_path else lasterror.describe(lasterror.read())
    guard.emit(f"{line}\n" for line in lines)
