"""What `diff` and `plan` show: pure functions from a render result to text or JSON.

Secret values never reach a diff: every Secret, wherever it sits (a document, an item
of a List, a List inside a List, YAML or JSON), has its data masked on both sides
before lines are compared. The side we write is always built from objects; the input
side is shown as it came unless it holds a Secret, and then as its masked objects."""

from __future__ import annotations

from renderer import stream
from renderer.errors import document_where
from renderer.lineage import folder
from renderer.render import Rendered
from renderer.sensitive import MASK

_SECRET_FIELDS = ("data", "stringData")


def masked(value):
    """A copy of `value` with the data of every Secret in it, at any depth, masked."""
    if isinstance(value, list):
        return [masked(item) for item in value]
    if not isinstance(value, dict):
        return value
    out = {key: masked(item) for key, item in value.items()}
    if value.get("kind") == "Secret":
        for key in _SECRET_FIELDS:
            if key in out:
                data = out[key]
                out[key] = dict.fromkeys(data, MASK) if isinstance(data, dict) else MASK
    return out


def holds_secret(value) -> bool:
    if isinstance(value, list):
        return any(holds_secret(item) for item in value)
    return isinstance(value, dict) and (value.get("kind") == "Secret" or any(holds_secret(v) for v in value.values()))


def document_diffs(rendered: Rendered) -> list[tuple[str, list[str]]]:
    """(title, unified diff lines) for every input document the render changed."""
    import difflib

    diffs = []
    for index in sorted(rendered.result.edits):
        chunk, edit = rendered.chunks[index], rendered.result.edits[index]
        before = _before(chunk)
        after = "" if edit.drop else "".join(part.decode("utf-8") for part in _after(chunk, edit))
        title = _title(chunk)
        lines = list(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                          fromfile=f"input: {title}", tofile=f"output: {title}"))
        if lines:
            diffs.append((title, lines))
    return diffs


def _before(chunk: stream.Chunk) -> str:
    """The input document as it came, or as its masked objects when it holds a Secret
    (a chart's Secret in a List, our own Secret from an earlier render)."""
    obj = chunk.load()  # a document the render changed: it was parsed already, it parses
    if not holds_secret(obj):
        return chunk.data.decode("utf-8", "replace")
    return chunk.rewrite(masked(obj), needs_separator=chunk.has_separator()).decode("utf-8")


def _after(chunk: stream.Chunk, edit) -> list[bytes]:
    parts = [chunk.companion(masked(obj)) for obj in edit.before]
    parts.append(chunk.rewrite(masked(edit.obj), needs_separator=chunk.has_separator()))
    return parts + [chunk.companion(masked(obj)) for obj in edit.after]


def _title(chunk: stream.Chunk) -> str:
    from renderer.render import kind_and_name  # the reading error messages use too

    return document_where(chunk.index, *kind_and_name(chunk))


def colour(line: str) -> str:
    if line.startswith(("+++", "---")):
        return f"\x1b[1m{line}\x1b[0m"
    if line.startswith("+"):
        return f"\x1b[32m{line}\x1b[0m"
    if line.startswith("-"):
        return f"\x1b[31m{line}\x1b[0m"
    if line.startswith("@@"):
        return f"\x1b[36m{line}\x1b[0m"
    return line


def plan_rows(rendered: Rendered) -> list[dict]:
    """One row per Cluster the overlay targets; with store or live facts, each row also
    says what they found (`facts`)."""
    rows = []
    verdicts = {v.cluster: v for v in rendered.result.verdicts}
    for plan, edit in rendered.result.clusters:
        rows.append({
            "cluster": plan.cluster.id,
            "mode": plan.entry.mode,
            "release": None if plan.release is None else {"name": plan.release.name, "from": plan.release.source,
                                                          "where": plan.release.where},
            "recoverySource": _side(plan.recovery),
            "recoveryFrom": _previous(plan),
            "restoresOutsideStores": list(plan.elsewhere),
            "backupTarget": _side(plan.backup),
            "recoveryRevision": plan.recovery.revision if plan.recovery else None,
            "backupRevision": plan.backup.revision if plan.backup else None,
            "schedules": [f"{o['metadata']['name']} ({o['spec']['schedule']})" for o in edit.after
                          if o.get("kind") == "ScheduledBackup"],
            "warnings": [n.what for n in edit.notices],
        })
        if verdicts:
            rows[-1]["facts"] = _facts(verdicts.get(plan.cluster.id), plan)
    return rows


def _facts(v, plan) -> dict | None:
    if v is None:
        return None
    return {
        "live": v.live, "verdict": v.code, "verdictText": v.text, "safe": v.safe,
        "problems": [{"code": p.code, "what": p.what, "where": str(p.where), "fix": p.fix} for p in v.problems],
        "warnings": v.warnings,
        "systemID": v.system_id, "newestRecoverablePoint": v.point,
        "resolved": [{"side": r.side, "revision": r.revision, "how": r.how} for r in plan.resolutions],
        "lineagesFound": v.lineages,
        "recoveryLineage": v.sides.get("recovery"), "backupLineage": v.sides.get("backups"),
        "suggested": {"recoveryRevision": v.suggested.get("recovery"), "backupRevision": v.suggested.get("backups")},
    }


def exit_code(rows: list[dict]) -> int:
    """`plan --exit-code` for CI: 0 every verdict safe, 2 a render would be refused,
    3 nothing refused but something was not checked (1 stays the error exit)."""
    verdicts: list[dict] = []
    for row in rows:
        f = row.get("facts")
        if f is None or f["problems"]:
            return 2
        verdicts.append(f)
    return 0 if all(f["safe"] for f in verdicts) else 3


def _previous(plan) -> dict | None:
    """Where a restore under a new name reads the old data (recovery.from)."""
    old = plan.previous
    if old is None or plan.entry.recovery.from_ is None:
        return None
    return {"release": old.release.name if old.release else None, "namespace": old.namespace,
            "cluster": old.cluster, "how": old.how}


def _reads(row: dict) -> str:
    """READS FROM: the lineage read, and what the restore reads outside any store."""
    parts = [*row["restoresOutsideStores"], *([_folder(row["recoverySource"])] if row["recoverySource"] else [])]
    old = row["recoveryFrom"]
    shown = " + ".join(parts) or "-"
    return (f"{shown} (written by {old['namespace'] + '/' if old['namespace'] else ''}{old['cluster']})"
            if old else shown)


def _side(side) -> dict | None:
    return None if side is None else {"destinationPath": side.destination_path, "serverName": side.server_name}


def plan_table(rows: list[dict]) -> str:
    header = ["CLUSTER", "MODE", "RELEASE (from)", "READS FROM (recovery)", "WRITES TO (backups)", "REVISIONS r/b",
              "SCHEDULES", "WARNINGS"]
    table = [header] + [[
        row["cluster"], row["mode"], _release(row["release"]), _reads(row), _folder(row["backupTarget"]),
        f"{_rev(row['recoveryRevision'])}/{_rev(row['backupRevision'])}",
        ", ".join(row["schedules"]) or "-", "; ".join(row["warnings"]) or "-",
    ] for row in rows]
    return aligned(table)


def facts_table(rows: list[dict]) -> str:
    """What the store and live state say, one row per Cluster (plan --check-store/--live)."""
    header = ["CLUSTER", "VERDICT", "SYSTEM", "RECOVERABLE UNTIL", "SUGGESTED r/b",
              "LINEAGES FOUND (system, completed backups, newest end, WAL)"]
    table = [header]
    for row in rows:
        facts = row.get("facts")
        if facts is None:
            continue
        suggested, point = facts["suggested"], facts["newestRecoverablePoint"]
        table.append([row["cluster"], facts["verdictText"], facts["systemID"] or "-",
                      f"{point['serverName']} {point['time'] or point['lsn']}" if point else "-",
                      f"{_rev(suggested['recoveryRevision'])}/{_rev(suggested['backupRevision'])}",
                      "; ".join(_lineage(lin) for lin in facts["lineagesFound"]) or "-"])
    lines = [aligned(table)]
    for row in rows:
        for problem in (row.get("facts") or {}).get("problems", []):
            lines.append(f"{row['cluster']}: {problem['what']}. {problem['fix']}")
    return "\n".join(lines)


def aligned(table: list[list[str]]) -> str:
    """Rows of cells in columns two spaces apart; the last column is not padded."""
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]) - 1)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)) + "  " + r[-1] for r in table)


def _lineage(lin: dict) -> str:
    newest = f", newest {lin['newestEndTime']}" if lin["newestEndTime"] else ""
    system = lin["systemID"] or "?"
    return f"{lin['serverName']} ({system}, {lin['completedBackups']}{newest}, {'WAL' if lin['hasWal'] else 'no WAL'})"


def _release(release: dict | None) -> str:
    return "-" if release is None else f"{release['name']} ({release['from']})"


def _folder(side: dict | None) -> str:
    return "-" if side is None else folder(side["destinationPath"], side["serverName"])


def _rev(revision: str | None) -> str:
    return "-" if revision is None else (f'"{revision}"')
