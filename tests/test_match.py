"""Matching overlay entries to Clusters: the same pairs as trying every entry on every
Cluster, at a cost that stays linear in the stream whatever the overlay holds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renderer import match, overlay
from renderer.errors import RenderError
from renderer.find import Found

HEAD = "credentials:\n  s3: {type: s3, bucket: b, accessKey: a, secretKey: s}\ncnpg:\n"
NAMES = ["a", "b", "r-cnpg-a", "x-cnpg-a-cnpg-b", "a-cnpg-b", "cnpg-a", "b-cnpg-"]
MATCHES = [None, "{name: a}", "{name: 'r-*'}", "{name: '*a'}", "{name: '[ab]'}", "{namespace: one}",
           "{labels: {team: t}}", "{name: a, namespace: two}", "{name: 'x-cnpg-a-cnpg-b', labels: {team: t}}"]


def entries_of(specs, optional: bool = True) -> list:
    """Overlay entries `cnpg.<name>` with an optional `match`, all optional (so that
    matching nothing is not an error) unless told."""
    flag = str(optional).lower()
    body = "".join(f"  {name}:\n    optional: {flag}\n    backups: {{enabled: true, credentials: s3}}\n"
                   + (f"    match: {spec}\n" if spec else "") for name, spec in specs)
    return list(overlay.parse([("o.yaml", HEAD + body)]).cnpg.values())


def cluster(index: int, name: str, namespace: str | None = None, labels: dict | None = None) -> Found:
    return Found(index, None, {}, name, namespace, labels or {}, f"document {index + 1}")


def tried_on_every_cluster(entries: list, clusters: list[Found]) -> list[tuple[str, int]] | str:
    """What matching means, the slow way: the pairs, or the error."""
    owner: dict[int, str] = {}
    pairs = []
    for entry in entries:
        for c in clusters:
            if match.matches(entry, c.name, c.namespace, c.labels):
                if c.index in owner:
                    return f"{c.where}: matched by two overlay entries: cnpg.{owner[c.index]} and cnpg.{entry.name}"
                owner[c.index] = entry.name
                pairs.append((entry.name, c.index))
    return pairs


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "e1", "e2"]), st.sampled_from(MATCHES)),
                max_size=5, unique_by=lambda spec: spec[0]),
       st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from([None, "one", "two"]),
                          st.sampled_from([{}, {"team": "t"}])), max_size=6))
def test_pairs_are_those_of_trying_every_entry_on_every_cluster(specs, found):
    entries = entries_of(specs)
    clusters = [cluster(i, name, namespace, labels) for i, (name, namespace, labels) in enumerate(found)]
    try:
        pairs: list[tuple[str, int]] | str = [(e.name, c.index) for e, c in match.pair(entries, clusters)]
    except RenderError as exc:
        pairs = str(exc)
    assert pairs == tried_on_every_cluster(entries, clusters)


def test_entries_that_name_their_cluster_are_looked_up_not_tried(monkeypatch):
    """2,000 entries and their 2,000 Clusters: each Cluster is tried with its own entry
    only (trying every pair was 4,000,000 calls, seconds of every render)."""
    entries = entries_of([(f"e{i}", None) for i in range(2000)])
    clusters = [cluster(i, f"r-cnpg-e{i}") for i in range(2000)]
    calls = []
    real = match.matches

    def counted(*args):
        calls.append(args[1])
        return real(*args)

    monkeypatch.setattr(match, "matches", counted)
    pairs = match.pair(entries, clusters)
    assert [(e.name, c.name) for e, c in pairs][:2] == [("e0", "r-cnpg-e0"), ("e1", "r-cnpg-e1")]
    assert len(pairs) == 2000 and len(calls) == 2000


def test_a_name_full_of_the_truecharts_infix_costs_one_pass():
    name = "a-cnpg-" * 200_000 + "main"  # 1.4 MB: a copy per `-cnpg-` would be 140 GB
    (pair,) = match.pair(entries_of([("main", None)]), [cluster(0, name)])
    assert pair[1].name == name


def test_more_globs_than_the_cap_are_refused_at_the_entry_past_it():
    specs = [(f"e{i}", f"{{name: 'c-{i}-*'}}") for i in range(match.MAX_SCANNING_ENTRIES + 1)]
    with pytest.raises(RenderError) as caught:
        match.pair(entries_of(specs), [cluster(0, "c-0-x")])
    assert str(caught.value).startswith(f"o.yaml:{4 + 4 * match.MAX_SCANNING_ENTRIES + 3}: "
                                        f"cnpg.e{match.MAX_SCANNING_ENTRIES}.match: more than 100 entries match by")
    match.pair(entries_of(specs[:-1]), [cluster(0, "c-0-x")])  # at the cap: matched as before



def test_an_entry_that_matches_nothing_names_ten_clusters_and_counts_the_rest():
    clusters = [cluster(i, f"c{i}", "ns") for i in range(2000)]
    with pytest.raises(RenderError) as caught:
        match.pair(entries_of([("main", None)], optional=False), clusters)
    assert str(caught.value) == ("o.yaml:5: cnpg.main: matches no Cluster in the input (Clusters found: ns/c0, ns/c1, "
                                 "ns/c2, ns/c3, ns/c4, ns/c5, ns/c6, ns/c7, ns/c8, ns/c9 and 1990 more); "
                                 "set cnpg.<name>.match or optional: true")
