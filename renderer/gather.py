"""Gather: the edge that reads facts — the live Clusters (a file, stdin or kubectl) and
the object stores the plans read from and write to. The only I/O of a render: it reads
exactly the sides the Plans name (each destinationPath once, read-only), hands the
result to the pure stages as `renderer.facts.Facts`, and never decides anything itself.
boto3 is imported only when a store is listed."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from renderer.errors import RenderError
from renderer.facts import Facts
from renderer.lineage import Plan, norm
from renderer.objectstore import ObjectStoreError, S3Access, StoreState


@dataclass(frozen=True)
class FactOptions:
    """The command-line flags that ask for facts."""

    check_store: bool = False
    live: str | None = None  # a file, or "-" for stdin
    live_kubectl: bool = False
    kube_context: str | None = None
    allow_lineage_change: bool = False

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


def read_live(options: FactOptions):
    """The live Clusters, or None when no live state was asked for."""
    from renderer import live

    try:
        if options.live_kubectl:
            return tuple(live.read_kubectl(options.kube_context))
        if options.live is None:
            return None
        if options.live == "-":
            text = sys.stdin.read()
        else:
            with open(options.live, encoding="utf-8") as handle:
                text = handle.read()
        return tuple(live.parse_live(text))
    except live.LiveReadError as exc:
        raise RenderError("--live-kubectl" if options.live_kubectl else f"--live {options.live}", str(exc)) from None
    except OSError as exc:
        raise RenderError(f"--live {options.live}", f"cannot read the live state: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise RenderError(f"--live {options.live}", "the live state is not UTF-8 text") from None


def access_for(credential) -> S3Access | None:
    """How to reach a store from the overlay's credential: inline keys as they are,
    existingSecret and inheritFromIAMRole through the standard AWS chain (environment,
    profile, instance role) of whoever runs the render. None: not an S3 credential."""
    if credential is None or getattr(credential, "type", "s3") != "s3":
        return None
    keys = {}
    if credential.access_key is not None and credential.secret_key is not None:
        keys = {"access_key_id": credential.access_key.reveal(), "secret_access_key": credential.secret_key.reveal()}
    return S3Access(endpoint_url=credential.url, region=credential.region, **keys)


def inspect_stores(plans: list[Plan]) -> dict[str, StoreState]:
    """Every destinationPath the plans read or write, listed once each."""
    from renderer import objectstore

    wanted: dict[str, tuple[str, object]] = {}
    for plan in plans:
        for side in (plan.backup, plan.recovery):
            if side is not None:
                wanted.setdefault(norm(side.destination_path), (side.destination_path, side.credential))
    states = {}
    for key in sorted(wanted):
        destination, credential = wanted[key]
        access = access_for(credential)
        reason = objectstore.unsupported_reason(destination)
        if access is None and reason is None:
            reason = ("the chart's own store, whose credentials are not in the overlay" if credential is None
                      else f"a {getattr(credential, 'type', '?')} credential cannot list an S3 path")
        if reason:
            states[key] = StoreState(destination, {}, checked=False, reason=reason)
            continue
        try:
            states[key] = objectstore.inspect(destination, access)
        except ObjectStoreError as exc:
            raise RenderError("--check-store", str(exc)) from None
    return states


def gather(plans: list[Plan], options: FactOptions) -> Facts:
    """The facts the options ask for, about the sides the plans name."""
    stores = inspect_stores(plans) if options.check_store else None
    return Facts(live=read_live(options), stores=stores, allow_lineage_change=options.allow_lineage_change)
