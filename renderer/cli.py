"""The command line: the thin shell around `render`. It reads files, stdin and the
environment, prints notices and the one-line error, and picks the exit code. Heavy
imports happen inside the commands that need them, so `render` starts fast."""

from __future__ import annotations

import sys

import click

from renderer import __version__
from renderer.errors import RenderError
from renderer.shell import (
    OVERLAY_ENV,
    RENDER_OPTIONS,
    fail,
    overlay_paths,
    read_inputs,
    render_stream,
    run_render,
    warn,
)

EPILOG = """\b
Examples:
  helm template pg ./chart | cnpg-render render --overlay overlay.yaml --release pg
  helm install pg ./chart --post-renderer cnpg-render \\
      --post-renderer-args=--overlay=$PWD/overlay.yaml
  CNPG_RENDER_OVERLAY=overlay.yaml cnpg-render manifests.yaml
"""


# The edges for Helm 4, ArgoCD and kustomize live in their own modules, imported only
# when their command runs, so `render` does not pay for them.
LAZY_COMMANDS = {
    "argocd-generate": ("renderer.argocd", "command"),
    "argocd-init": ("renderer.argocd", "init_command"),
    "flux": ("renderer.flux", "command"),
    "kustomize-plugin": ("renderer.kustomize", "plugin_command"),
    "krm": ("renderer.kustomize", "krm_command"),
    "last-error": ("renderer.lasterror", "command"),
}


class DefaultToRender(click.Group):
    """`cnpg-render --overlay x` (Helm 3's post-renderer call) means `render`; the edge
    commands are loaded on demand. Shell completion (resilient parsing) of a bare
    `cnpg-render ` lists the commands rather than completing `render`."""

    def list_commands(self, ctx):
        return sorted([*self.commands, *LAZY_COMMANDS])

    def get_command(self, ctx, name):
        if name in LAZY_COMMANDS and name not in self.commands:
            import importlib

            module, attribute = LAZY_COMMANDS[name]
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def parse_args(self, ctx, args):
        known = {*self.commands, *LAZY_COMMANDS, "--help", "-h", "--version"}
        if args and args[0] not in known:
            args = ["render", *args]
        elif not args and not sys.stdin.isatty() and not ctx.resilient_parsing:
            args = ["render"]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultToRender, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnpg-render")
def main() -> None:
    """Inject CloudNativePG backup and recovery configuration into rendered manifests.

    Reads a multi-document YAML stream, edits the CNPG Clusters the overlay names, adds
    their credentials Secrets and ScheduledBackups, and decides the backup lineage
    (serverName revision) so a restore never writes into the archive it reads."""


# Paths (click.Path) so that shell completion offers file names.
files_argument = click.argument("files", nargs=-1, metavar="[FILE|-]...", type=click.Path())
overlay_option = click.option(*RENDER_OPTIONS["overlays"][0], "overlays", multiple=True, metavar="PATH", type=click.Path(),
                              help=f"Overlay file (repeatable; later files override earlier ones). Default: ${OVERLAY_ENV}.")
release_option = click.option(*RENDER_OPTIONS["release"][0], "release", metavar="NAME",
                              help="Release name for the default destinationPath (default: the Cluster's "
                                   "app.kubernetes.io/instance label).")
namespace_option = click.option(*RENDER_OPTIONS["namespace"][0], "namespace", metavar="NS",
                                help="Namespace for added objects when the Cluster has none.")


def render_inputs(command):
    """The options and arguments every rendering command takes."""
    for decorate in reversed((overlay_option, release_option, namespace_option)):
        command = decorate(command)
    return files_argument(command)


ca_bundle_option = click.option("--ca-bundle", metavar="FILE", help="CA bundle (PEM) for --check-store when the "
                                "overlay's endpointCA names a Secret that only the cluster holds.")


def facts_options(command):
    """--check-store, --live, --live-kubectl, --context, --allow-lineage-change (renderer.gather)."""
    options = [
        click.option("--check-store", is_flag=True, help="Read the object store (read-only): refuse a recovery from "
                     "a lineage without a completed base backup and backups into a lineage holding WAL; resolve "
                     "revision: auto."),
        click.option("--live", metavar="FILE|-", help="Live Clusters as `kubectl get clusters.postgresql.cnpg.io -A "
                     "-o yaml` prints them: a running Cluster keeps its lineage."),
        click.option("--live-kubectl", is_flag=True, help="Read the live Clusters with kubectl (your kubeconfig)."),
        click.option("--context", "kube_context", metavar="NAME", help="kube context for --live-kubectl."),
        click.option("--allow-lineage-change", is_flag=True, help="Let a running Cluster's backup lineage change "
                     "(warns: point-in-time recovery has a gap until the next base backup)."),
        ca_bundle_option,
    ]
    for option in reversed(options):
        command = option(command)
    return command


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

    click.echo(json.dumps(json_schema(), indent=2))


@main.command()
@render_inputs
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
@facts_options
def diff(overlays, release, namespace, color, files, **facts):
    """Show, per document, what render changes (secret values masked)."""
    from renderer.report import colour, document_diffs

    rendered = run_render(overlays, release, namespace, files, facts)
    warn(rendered.notices)
    coloured = color == "always" or (color == "auto" and sys.stdout.isatty())
    for _, lines in document_diffs(rendered):
        for line in lines:
            click.echo(colour(line.rstrip("\n")) if coloured else line.rstrip("\n"), color=coloured)


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
    from renderer.report import exit_code as verdicts_exit, facts_table, plan_rows, plan_table

    if exit_code and not (facts["check_store"] or facts["live"] is not None or facts["live_kubectl"]):
        fail(RenderError("--exit-code", "needs verdicts: add --check-store (and --live FILE or --live-kubectl)"))
    rendered = run_render(overlays, release, namespace, files, facts, collect=True)
    rows = plan_rows(rendered)
    if output == "json":
        import json

        click.echo(json.dumps(rows, indent=2))
    else:
        click.echo(plan_table(rows))
        if any("facts" in row for row in rows):
            click.echo("\n" + facts_table(rows))
    if exit_code:
        sys.exit(verdicts_exit(rows))


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

    try:
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
    except RenderError as error:
        fail(error)
    for line in lines:
        click.echo(line)
    click.echo(bumping.summary(name, plan))


@main.command()
@click.option("--crds", "crds", metavar="DIR", type=click.Path(exists=True, file_okay=False),
              help="Directory of CRDs (e.g. `kubectl get crd clusters.postgresql.cnpg.io -o yaml`). "
                   "Without it only the admission rules are checked.")
@files_argument
def validate(crds, files):
    """Check the CNPG objects of a stream against CRD schemas and admission rules.

    Prints one line per problem (document index, kind/name, field) and exits 1 if any."""
    from renderer import validate as checks
    from renderer.render import cnpg_documents

    try:
        schemas = _schemas(crds)
        problems = [p for index, obj in cnpg_documents(read_inputs(files))
                    for p in checks.check(obj, schemas, index)]
    except RenderError as error:
        fail(error)
    for problem in problems:
        click.echo(f"cnpg-render: invalid: {problem}", err=True)
    if problems:
        sys.exit(1)


def _schemas(directory):
    from renderer import validate as checks

    if directory is None:
        click.echo("cnpg-render: warning: no --crds: checking admission rules only", err=True)
        return None
    from renderer.extras import require

    require("jsonschema", "validate --crds")
    try:
        return checks.Schemas.from_dir(directory)
    except ValueError as exc:
        raise RenderError(directory, str(exc)) from None
