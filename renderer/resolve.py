"""Resolve: decide the open revisions of a Plan (`revision: auto`) from the facts.

Pure: the same plan and facts give the same revisions. The rules (docs/restoring.md
explains them to users):
- a Cluster that runs (found in the live state) keeps its lineage: `auto` takes the
  revision its serverName carries, and the one it was bootstrapped from;
- otherwise the read side takes the lineage with the newest recoverable point of the
  database it restores (`recovery.systemID`, else the series' only system; never a
  lineage of another system), and the write side the next unused revision of its series.
What the choice leaves out (newer WAL without a backup, several databases in one
series) is not decided here: `renderer.judge` refuses it, naming the fix."""

from __future__ import annotations

from renderer import history
from renderer.errors import RenderError
from renderer.facts import NO_FACTS, Facts
from renderer.lineage import Plan, Resolution, Side, revision_of, settle
from renderer.live import LiveCluster
from renderer.objectstore import StoreState


def resolve(plan: Plan, facts: Facts | None) -> Plan:
    """The plan with every revision decided (and collision-checked)."""
    if not plan.is_open:
        return plan
    live = facts.live_cluster(plan.cluster) if facts else None
    out: list[Resolution] = []
    recovery = None
    if plan.recovery is not None and plan.recovery.revision is None:
        recovery = _recovery(plan, plan.recovery, facts, live, out)
    backups = None
    if plan.backup is not None and plan.backup.revision is None and plan.backup.how == "auto":
        also = (recovery if recovery is not None else plan.recovery.revision,) \
            if plan.recovery is not None and plan.recovery.series == plan.backup.series else ()
        backups = _backup(plan, plan.backup, facts, live, also, out)
    return settle(plan, recovery, backups, tuple(out))


def _missing(plan: Plan, section, facts: Facts | None, why: str) -> RenderError:
    if facts is None or (facts.live is None and facts.stores is None):
        return RenderError(section.where("revision"), f"is auto, but no store or live state was read: {NO_FACTS}")
    return RenderError(section.where("revision"), f"is auto, but Cluster {plan.cluster.id} {why}")


def _kept(plan: Plan, section, name: str, base: str, verb: str) -> str:
    """The revision a running Cluster's serverName carries (it keeps its lineage)."""
    revision = revision_of(name, base)
    if revision is None:
        raise RenderError(section.where("revision"),
                          f"is auto, but the running Cluster {plan.cluster.id} {verb} serverName '{name}', which "
                          f"is not {base} or {base}-r<revision>: set the revision (and serverName) explicitly")
    return revision


def _store(plan: Plan, section, side: Side, facts: Facts | None, why: str) -> StoreState:
    """The inspected store under `side`, or the error saying which flag or provider is missing."""
    state = facts.store(side.destination_path) if facts else None
    if state is None:
        raise _missing(plan, section, facts, why)
    if not state.checked:
        raise RenderError(section.where("revision"),
                          f"is auto, but {state.destination_path} was not checked: {state.reason}")
    return state


def _recovery(plan: Plan, side: Side, facts: Facts | None, live: LiveCluster | None,
              out: list[Resolution]) -> str:
    section = plan.entry.recovery
    if live is not None:
        if live.recovery_server_name is None:
            raise RenderError(section.where("revision"),
                              f"is auto, but the running Cluster {plan.cluster.id} was not bootstrapped from an "
                              "object store, so there is no read lineage to keep: set recovery.revision, or mode: "
                              "standalone while it runs")
        revision = _kept(plan, section, live.recovery_server_name, side.base, "was recovered from")
        out.append(Resolution("recovery", revision, "kept from the running Cluster"))
        return revision
    state = _store(plan, section, side, facts, "is not running and the store was not read: pass --check-store")
    assert facts is not None  # _store raised without them
    series = history.series(state, side.base)
    pinned = facts.restored_system(plan)[0]
    system = history.anchor(series, None if pinned is None else str(pinned))
    chosen = history.newest(series, system, plan.entry.recovery.pitr_target)
    if chosen is None:  # judged (and refused) by the judge: the bare lineage, which holds nothing usable
        out.append(Resolution("recovery", "", "no lineage holds a usable base backup"))
        return ""
    whose = f" of system {system}" if system is not None else ""
    out.append(Resolution("recovery", chosen.member.revision, f"newest recoverable point{whose}: "
                                                              f"{chosen.member.name} up to {_until(chosen)}"))
    return chosen.member.revision


def _until(chosen: history.Restore) -> str:
    return chosen.end_time.isoformat() if chosen.end_time else "its last WAL"


def _backup(plan: Plan, side: Side, facts: Facts | None, live: LiveCluster | None, also: tuple,
            out: list[Resolution]) -> str:
    section = plan.entry.backups
    if live is not None and live.backup_server_name is not None:
        revision = _kept(plan, section, live.backup_server_name, side.base, "writes to")
        out.append(Resolution("backups", revision, "kept from the running Cluster"))
        return revision
    state = _store(plan, section, side, facts, "does not archive yet and the store was not read: pass --check-store")
    revision = history.series(state, side.base).next_unused(also)
    out.append(Resolution("backups", revision, "next unused revision in the store"))
    return revision
