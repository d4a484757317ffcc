"""Gather: the edge that reads facts — the live Clusters (a file, stdin or kubectl; for
`verify` their ScheduledBackups too) and the object stores the plans read from and
write to. The only I/O of a render: it reads
exactly the sides the Plans name (each destinationPath once, read-only), hands the
result to the pure stages as `renderer.facts.Facts`, and never decides anything itself.
A provider's SDK is imported only when a store of that provider is listed."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from renderer import live
from renderer.errors import RenderError
from renderer.facts import Facts
from renderer.lineage import Plan, Side, norm
from renderer.objectstore import Access, ObjectStoreError, StoreState
from renderer.overlay.model import Credential

# Looks up a Secret of the rendered stream: (namespace, name) -> its values, or None.
SecretLookup = Callable[[str | None, str], "dict[str, str] | None"]


@dataclass(frozen=True)
class FactOptions:
    """The command-line flags that ask for facts."""

    check_store: bool = False
    live: str | None = None  # a file, or "-" for stdin
    live_kubectl: bool = False
    kube_context: str | None = None
    allow_lineage_change: bool = False
    ca_bundle: str | None = None  # for an endpointCA Secret only the cluster holds
    scheduled: bool = False  # also the live ScheduledBackups (verify; a render never reads them)

    @property
    def any(self) -> bool:
        return self.check_store or self.live is not None or self.live_kubectl or self.allow_lineage_change


def check_options(options: FactOptions, files: tuple[str, ...]) -> None:
    """Combinations that cannot work, refused before anything is read."""
    if options.live is not None and options.live_kubectl:
        raise RenderError("--live", "give either --live FILE or --live-kubectl, not both")
    if options.kube_context and not options.live_kubectl:
        raise RenderError("--context", "names a kube context for --live-kubectl, which was not given")
    if options.live == "-" and (not files or "-" in files):
        raise RenderError("--live -", "stdin is already the manifest input: pass the manifests as files, "
                                      "or write the live state to a file and pass --live FILE")
    if options.allow_lineage_change and options.live is None and not options.live_kubectl:
        raise RenderError("--allow-lineage-change", "only applies with --live FILE or --live-kubectl")
    if options.ca_bundle is not None and not options.check_store:
        raise RenderError("--ca-bundle", "is the CA for --check-store, which was not given")


def read_live(options: FactOptions) -> tuple[tuple[live.LiveCluster, ...] | None, tuple[live.Scheduled, ...] | None]:
    """The live Clusters and, when `options.scheduled` asks, the live ScheduledBackups;
    None for what was not asked for. A live file is read once (it may be stdin) and
    holds ScheduledBackups only if it was written with them: none there means unknown."""
    try:
        if options.live_kubectl:
            clusters = tuple(live.read_kubectl(options.kube_context))
            return clusters, tuple(live.read_kubectl_scheduled(options.kube_context)) if options.scheduled else None
        if options.live is None:
            return None, None
        if options.live == "-":
            text = sys.stdin.read()
        else:
            with open(options.live, encoding="utf-8") as handle:
                text = handle.read()
        return tuple(live.parse_live(text)), (tuple(live.parse_scheduled(text)) or None) if options.scheduled else None
    except live.LiveReadError as exc:
        raise RenderError("--live-kubectl" if options.live_kubectl else f"--live {options.live}", str(exc)) from None
    except OSError as exc:
        raise RenderError(f"--live {options.live}", f"cannot read the live state: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise RenderError(f"--live {options.live}", "the live state is not UTF-8 text") from None


def access_for(credential: Credential, ca: tuple[str, str] | None = None) -> Access:
    """How the store check reaches a store with the overlay's credential, by its
    provider (`renderer.stores`); ``ca`` is (PEM file, where it came from) as CNPG's
    endpointCA gives it."""
    from renderer.stores import azure, gcs, s3

    return {"s3": s3, "azure": azure, "google": gcs}[credential.type].access(credential, ca)


class CaSource:
    """Where the store check finds an endpoint's CA, as CNPG has it: the overlay's
    inline PEM, the Secret its `endpointCA` names (in the manifests, else read with
    kubectl under --live-kubectl), else `--ca-bundle FILE`. A named Secret found
    nowhere fails closed: listing without the CA would not be what CNPG does."""

    def __init__(self, options: FactOptions, lookup: SecretLookup, directory: str):
        self.options, self.lookup, self.directory = options, lookup, directory

    def for_side(self, plan: Plan, side: Side) -> tuple[str, str] | None:
        ca = getattr(side.credential, "endpoint_ca", None)
        if ca is None:
            return None
        if ca.pem is not None:
            return self._file(ca.pem), "the overlay's inline endpointCA"
        namespace = plan.cluster.namespace
        found = (self.lookup(namespace, ca.name) or {}).get(ca.key)
        if found is not None:
            return self._file(found), f"endpointCA Secret {ca.name} (key {ca.key}) in the manifests"
        if self.options.ca_bundle is not None:
            return self.options.ca_bundle, f"--ca-bundle {self.options.ca_bundle}"
        if self.options.live_kubectl:
            return self._file(self._kubectl(namespace, ca.name, ca.key)), \
                f"endpointCA Secret {namespace}/{ca.name} (key {ca.key}), read with kubectl"
        raise RenderError("--check-store", f"{side.destination_path}: endpointCA names Secret {ca.name} "
                                           f"(key {ca.key}), "
                                           "which is not in the manifests: pass --ca-bundle FILE with that CA, or "
                                           "--live-kubectl to read the Secret from the cluster")

    def _file(self, pem: str) -> str:
        fd, path = tempfile.mkstemp(suffix=".pem", dir=self.directory)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(pem)
        return path

    def _kubectl(self, namespace: str | None, name: str, key: str) -> str:
        try:
            return live.read_secret_key(namespace, name, key, self.options.kube_context)
        except live.LiveReadError as exc:
            raise RenderError("--live-kubectl", str(exc)) from None


def inspect_stores(plans: list[Plan], options: FactOptions | None = None,
                   lookup: SecretLookup | None = None) -> dict[str, StoreState]:
    """Every destinationPath the plans read or write, listed once each, and only the
    lineages of the serverName bases the plans name there."""
    wanted: dict[str, tuple[Plan, Side, set[str]]] = {}
    for plan in plans:
        for side in (plan.backup, plan.recovery):
            if side is not None:
                wanted.setdefault(norm(side.destination_path), (plan, side, set()))[2].add(side.base)
    with tempfile.TemporaryDirectory(prefix="cnpg-render-ca-") as directory:
        cas = CaSource(options or FactOptions(check_store=True), lookup or (lambda ns, name: None), directory)
        return {key: _inspect(plan, side, bases, cas) for key, (plan, side, bases) in sorted(wanted.items())}


def _inspect(plan: Plan, side: Side, bases: set[str], cas: CaSource) -> StoreState:
    from renderer import objectstore
    from renderer.lineage import number, revision_of

    destination, credential = side.destination_path, side.credential
    if credential is None:
        return StoreState(destination, {}, checked=False,
                          reason="the chart's own store, whose credentials are not in the overlay")
    access = access_for(credential, cas.for_side(plan, side))
    try:
        return objectstore.inspect(destination, access,
                                   lambda name: any(number(revision_of(name, base)) is not None for base in bases))
    except ObjectStoreError as exc:
        raise RenderError("--check-store", str(exc)) from None


def gather(plans: list[Plan], options: FactOptions, lookup: SecretLookup | None = None) -> Facts:
    """The facts the options ask for, about the sides the plans name."""
    stores = inspect_stores(plans, options, lookup) if options.check_store else None
    clusters, scheduled = read_live(options)
    return Facts(live=clusters, stores=stores, allow_lineage_change=options.allow_lineage_change, scheduled=scheduled)
