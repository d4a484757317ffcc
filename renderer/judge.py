"""Judge: what the facts say about one settled Plan — a Verdict that plan shows and
render refuses on. Pure: the plan and the facts in, the verdict out.

- A Cluster that runs (in the live state) keeps writing where it writes; a render that
  would move its archive is refused unless `allow_lineage_change` (PITR would have a gap).
- A Cluster that will bootstrap (not live, or no live state given) must read a lineage
  holding a completed base backup and write one holding no WAL."""

from __future__ import annotations

from renderer.errors import Notice, RenderError
from renderer.facts import Facts, newest_restorable, next_unused
from renderer.lineage import Plan, Side, norm, revision_of
from renderer.live import LiveCluster
from renderer.objectstore import LineageState, StoreState
from renderer.records import field, record

VERDICTS = {
    "safe": "safe",
    "expected-empty-archive": 'would fail "Expected empty archive"',
    "recovery-source-empty": "recovery source empty",
    "running": "running: lineage kept",
    "lineage-change": "running: lineage would change",
    "lineage-change-allowed": "running: lineage changes (allowed)",
    "not-checked": "not checked",
    "unchecked": "-",
}


@record(frozen=True)
class Problem:
    """One reason to refuse: its verdict code, what is wrong, and the overlay key to change."""

    code: str
    what: str
    where: object  # an overlay Origin


@record
class Verdict:
    """What the facts say about one Cluster's render (plan shows it; render refuses on `problems`)."""

    cluster: str
    live: bool | None  # None: no live state given
    code: str = "unchecked"
    detail: str = ""
    problems: list[Problem] = field(default_factory=list)
    lineages: list[dict] = field(default_factory=list)
    sides: dict[str, dict] = field(default_factory=dict)
    suggested: dict[str, str | None] = field(default_factory=dict)

    @property
    def text(self) -> str:
        text = VERDICTS[self.code]
        return f"{text}: {self.detail}" if self.detail else text

    def refusal(self) -> RenderError | None:
        if not self.problems:
            return None
        what = "; ".join(p.what for p in self.problems)
        safe = {k: v for k, v in self.suggested.items() if v is not None}
        if safe and self.code != "lineage-change":
            what += " (safe: " + ", ".join(f"{k}.revision \"{v}\"" for k, v in safe.items()) + ", or auto)"
        return RenderError(self.problems[0].where, f"Cluster {self.cluster}: {what}")

    def notices(self, where: str) -> list[Notice]:
        """Warnings a render prints for an accepted verdict."""
        if self.code in ("lineage-change-allowed", "not-checked") or (self.code == "running" and self.detail):
            return [Notice(where, self.text)]
        return []


def judge(plan: Plan, facts: Facts) -> Verdict:
    live = facts.live_cluster(plan.cluster)
    verdict = Verdict(plan.cluster.id, None if facts.live is None else live is not None)
    _store_report(verdict, plan, facts)
    if live is not None:
        _judge_running(verdict, plan, facts, live)
    elif facts.stores is not None:
        _judge_bootstrap(verdict, plan, facts)
    return verdict


def _lineage_info(state: StoreState, name: str) -> dict:
    lineage = state.lineages.get(name)
    newest = lineage.newest_end_time if lineage else None
    return {"serverName": name, "exists": lineage is not None,
            "completedBackups": len(lineage.completed) if lineage else 0,
            "newestEndTime": newest.isoformat() if newest else None,
            "hasWal": bool(lineage and lineage.has_wal)}


def _found(lineage: LineageState | None) -> str:
    if lineage is None:
        return "the lineage does not exist"
    return (f"found {len(lineage.backups)} base backup(s), {len(lineage.completed)} completed, "
            f"{'with' if lineage.has_wal else 'no'} WAL")


def _store_report(v: Verdict, plan: Plan, facts: Facts) -> None:
    """Lineages found, each side's lineage, and the revisions that would be safe."""
    if facts.stores is None:
        return
    seen = set()
    for key, side in (("recovery", plan.recovery), ("backups", plan.backup)):
        state = facts.store(side.destination_path) if side else None
        if side is None or state is None:
            continue
        if not state.checked:
            v.sides[key] = {"folder": side.folder, "checked": False, "reason": state.reason}
            continue
        v.sides[key] = {"folder": side.folder, "checked": True, **_lineage_info(state, side.server_name)}
        if side.series not in seen:
            seen.add(side.series)
            v.lineages += [{"destinationPath": state.destination_path, **_lineage_info(state, name)}
                           for name in sorted(state.lineages) if revision_of(name, side.base) is not None]
    _suggest(v, plan, facts)


def _suggest(v: Verdict, plan: Plan, facts: Facts) -> None:
    rec, bak = plan.recovery, plan.backup
    rec_state = facts.store(rec.destination_path) if rec else None
    bak_state = facts.store(bak.destination_path) if bak else None
    if rec and rec_state and rec_state.checked:
        v.suggested["recovery"] = newest_restorable(rec_state, rec.base)
    elif rec is None and bak and bak_state and bak_state.checked:  # standalone: what a restore would read
        v.suggested["recovery"] = newest_restorable(bak_state, bak.base)
        rec = bak if v.suggested["recovery"] is not None else None
    if bak and bak_state and bak_state.checked:
        also = (v.suggested.get("recovery") or "",) if rec and rec.series == bak.series and \
            v.suggested.get("recovery") is not None else ()
        v.suggested["backups"] = next_unused(bak_state, bak.base, also)


def _judge_running(v: Verdict, plan: Plan, facts: Facts, live: LiveCluster) -> None:
    v.code = "running"
    side = plan.backup
    where = plan.entry.backups.where("revision")
    if live.backup_server_name is not None and side is not None:
        live_folder = f"{norm(live.backup_destination_path)}/{live.backup_server_name}" \
            if live.backup_destination_path else f"<ObjectStore {live.barman_object_name}>/{live.backup_server_name}"
        same_path = live.backup_destination_path is None or \
            norm(live.backup_destination_path) == norm(side.destination_path)
        if same_path and live.backup_server_name == side.server_name:
            return
        move = f"the running Cluster writes to {live_folder}; this render would move its archive to {side.folder}"
        if facts.allow_lineage_change:
            v.code = "lineage-change-allowed"
            v.detail = (f"{move}. Point-in-time recovery has a gap: the new lineage holds no base backup until "
                        "the next backup completes there, and times before it can only be restored from the old "
                        "lineage. Take a backup right after deploying")
        else:
            v.code = "lineage-change"
            v.problems.append(Problem("lineage-change", f"{move} (point-in-time recovery would have a gap until "
                                      "the next base backup); keep its lineage (backups.revision: auto keeps it) or "
                                      "pass --allow-lineage-change", where))
    elif side is not None:  # archiving is added to a running Cluster: CNPG skips its check (#11126)
        state = facts.store(side.destination_path)
        lin = state.lineages.get(side.server_name) if state and state.checked else None
        if lin is not None and lin.has_wal:
            v.code = "expected-empty-archive"
            v.problems.append(Problem("expected-empty-archive",
                                      f"backups would start writing into {side.folder}, which already holds WAL; "
                                      "CNPG skips its empty-archive check when archiving is added to a running "
                                      "Cluster (cloudnative-pg#11126), so two histories would interleave in one "
                                      "archive", where))
        elif state is None:
            v.detail = ("archiving is added to a running Cluster, where CNPG skips its empty-archive check "
                        "(cloudnative-pg#11126): pass --check-store to have the lineage checked")
    elif live.backup_server_name is not None:
        v.detail = f"backups are disabled: it stops archiving to {live.backup_server_name}"


def _inspected(side: Side, facts: Facts, unchecked: list) -> tuple[bool, LineageState | None]:
    """(was the store under `side` inspected, the lineage found there); an uninspected
    store is noted in `unchecked`."""
    state = facts.store(side.destination_path)
    if state is None or not state.checked:
        unchecked.append(f"{state.destination_path}: {state.reason}" if state else
                         f"{side.destination_path}: not inspected")
        return False, None
    return True, state.lineages.get(side.server_name)


def _judge_bootstrap(v: Verdict, plan: Plan, facts: Facts) -> None:
    unchecked: list[str] = []
    rec, bak = plan.recovery, plan.backup
    if rec is not None:
        checked, lin = _inspected(rec, facts, unchecked)
        if checked and (lin is None or not lin.completed):
            v.problems.append(Problem("recovery-source-empty",
                                      f"recovery source {rec.folder} holds no completed base backup ({_found(lin)}); "
                                      "the new Cluster would wait for a backup that never comes",
                                      plan.entry.recovery.where("revision")))
    if bak is not None:
        checked, lin = _inspected(bak, facts, unchecked)
        if checked and lin is not None and lin.has_wal:
            why = ("skipEmptyWalArchiveCheck is set, so CNPG would interleave two histories in one archive"
                   if plan.entry.skip_empty_wal_archive_check else
                   "CNPG fails the first archive with 'Expected empty archive'")
            v.problems.append(Problem("expected-empty-archive",
                                      f"backups would write into {bak.folder}, which already holds WAL: {why}",
                                      plan.entry.backups.where("revision")))
    if v.problems:
        v.code = v.problems[0].code
    elif unchecked:
        v.code, v.detail = "not-checked", "; ".join(dict.fromkeys(unchecked))
    else:
        v.code = "safe"
