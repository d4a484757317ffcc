"""What `diff` and `plan` show: pure functions from a render result to text or JSON.

Secret values never reach a diff: every Secret document is masked on both sides
before lines are compared."""

from __future__ import annotations

import re

from renderer import stream
from renderer.errors import document_where
from renderer.render import Rendered

MASK = "'****'"
_SECRET_KIND = re.compile(r"^kind:[ \t]*['\"]?Secret['\"]?[ \t]*$", re.M)
_DATA_KEY = re.compile(r"^(\s*)(stringData|data):(.*)$")


def mask_secrets(text: str) -> str:
    """Replace the values under `data`/`stringData` of Secret documents (block or flow);
    the continuation lines of multi-line values are dropped."""
    if not _SECRET_KIND.search(text):
        return text
    out, data_indent, key_indent = [], None, None
    for line in text.split("\n"):
        indent = len(line) - len(line.lstrip())
        if data_indent is not None and (not line.strip() or indent > data_indent):
            if not line.strip():
                out.append(line)
                continue
            key_indent = indent if key_indent is None else key_indent
            if indent == key_indent:
                out.append(f"{line.split(':', 1)[0]}: {MASK}")
            continue
        data_indent = key_indent = None
        match = _DATA_KEY.match(line)
        if match:
            data_indent = len(match.group(1))
            if match.group(3).strip() and not match.group(3).strip().startswith("#"):
                line, data_indent = f"{match.group(1)}{match.group(2)}: {{{MASK}}}", None
        out.append(line)
    return "\n".join(out)


def document_diffs(rendered: Rendered) -> list[tuple[str, list[str]]]:
    """(title, unified diff lines) for every input document the render changed."""
    import difflib

    diffs = []
    for chunk in rendered.chunks:
        edit = rendered.result.edits.get(chunk.index)
        if edit is None:
            continue
        before = mask_secrets(chunk.data.decode("utf-8", "replace"))
        after = "" if edit.drop else "".join(mask_secrets(part.decode("utf-8")) for part in _after(chunk, edit))
        title = _title(chunk)
        lines = list(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                          fromfile=f"input: {title}", tofile=f"output: {title}"))
        if lines:
            diffs.append((title, lines))
    return diffs


def _after(chunk: stream.Chunk, edit) -> list[bytes]:
    parts = [chunk.companion(obj) for obj in edit.before]
    parts.append(chunk.rewrite(edit.obj, needs_separator=chunk.has_separator()))
    return parts + [chunk.companion(obj) for obj in edit.after]


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
            "release": None if plan.release is None else {"name": plan.release.name, "from": plan.release.origin},
            "recoverySource": _side(plan.recovery),
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
        "live": v.live, "verdict": v.code, "verdictText": v.text,
        "problems": [p.what for p in v.problems],
        "resolved": [{"side": r.side, "revision": r.revision, "how": r.how} for r in plan.resolutions],
        "lineagesFound": v.lineages, "recoveryLineage": v.sides.get("recovery"), "backupLineage": v.sides.get("backups"),
        "suggested": {"recoveryRevision": v.suggested.get("recovery"), "backupRevision": v.suggested.get("backups")},
    }


def _side(side) -> dict | None:
    return None if side is None else {"destinationPath": side.destination_path, "serverName": side.server_name}


def plan_table(rows: list[dict]) -> str:
    header = ["CLUSTER", "MODE", "READS FROM (recovery)", "WRITES TO (backups)", "REVISIONS r/b", "SCHEDULES", "WARNINGS"]
    table = [header] + [[
        row["cluster"], row["mode"], _folder(row["recoverySource"]), _folder(row["backupTarget"]),
        f"{_rev(row['recoveryRevision'])}/{_rev(row['backupRevision'])}",
        ", ".join(row["schedules"]) or "-", "; ".join(row["warnings"]) or "-",
    ] for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header) - 1)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)) + "  " + r[-1] for r in table)


def facts_table(rows: list[dict]) -> str:
    """What the store and live state say, one row per Cluster (plan --check-store/--live)."""
    header = ["CLUSTER", "VERDICT", "SUGGESTED r/b", "LINEAGES FOUND (completed backups, newest end, WAL)"]
    table = [header]
    for row in rows:
        facts = row.get("facts")
        if facts is None:
            continue
        suggested = facts["suggested"]
        table.append([row["cluster"], facts["verdictText"],
                      f"{_rev(suggested['recoveryRevision'])}/{_rev(suggested['backupRevision'])}",
                      "; ".join(_lineage(lin) for lin in facts["lineagesFound"]) or "-"])
    widths = [max(len(r[i]) for r in table) for i in range(len(header) - 1)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)) + "  " + r[-1] for r in table)


def _lineage(lin: dict) -> str:
    newest = f", newest {lin['newestEndTime']}" if lin["newestEndTime"] else ""
    return f"{lin['serverName']} ({lin['completedBackups']}{newest}, {'WAL' if lin['hasWal'] else 'no WAL'})"


def _folder(side: dict | None) -> str:
    return "-" if side is None else f"{side['destinationPath'].rstrip('/')}/{side['serverName']}"


def _rev(revision: str | None) -> str:
    return "-" if revision is None else (f'"{revision}"')
