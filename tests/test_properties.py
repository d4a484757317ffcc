"""Property-based checks of the promises the product makes on every render."""

from __future__ import annotations

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renderer import overlay, stream
from renderer.cli import main
from renderer.render import render
from renderer.transform import Context
from tests.helpers import FIXTURES, changes

OVERLAY = overlay.load([str(FIXTURES / "overlays" / "optional.yaml")])
CLUSTER = (FIXTURES / "inputs" / "cluster-main.yaml").read_bytes()

# Text that looks like YAML and like our targets, so the generator reaches the parser.
FRAGMENTS = st.sampled_from([
    "---\n", "...\n", "# Source: x/templates/y.yaml\n", "apiVersion: postgresql.cnpg.io/v1\n", "kind: Cluster\n",
    "kind: List\n", "items:\n- ", "metadata:\n  name: demo-cnpg-main\n", "spec:\n", "  bootstrap: [\n", "  - =\n",
    "data: {a: 1}\n", "\r\n", "\xef\xbb\xbf", "key: 'unterminated\n", "{\"kind\": \"Cluster\"}\n", "  labels: x\n",
    "spec: 3\n", "metadata: []\n", "\t\n", "cnpg-render.io/generated-for: a\n", "%YAML 1.1\n",
])
NOISE = st.lists(st.one_of(FRAGMENTS, st.text(max_size=20)), max_size=12).map("".join)

# Documents that are not targets, whatever they hold.
PLAIN_DOC = st.lists(st.sampled_from(["a: 1\n", "# c\n", "b: [x, y]\n", "c: |\n  text\n", "d: 'q'\n", "e: - =\n",
                                      "kind: ConfigMap\n", "\n", "x: {y: z}  # trailing\n"]),
                     min_size=1, max_size=6).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(NOISE)
def test_arbitrary_input_never_crashes_nor_leaves_partial_output(text):
    result = CliRunner().invoke(main, ["render", "--overlay", str(FIXTURES / "overlays" / "optional.yaml")],
                                input=text.encode("utf-8", "surrogatepass"))
    assert result.exit_code in (0, 1), result.output
    assert not result.exception or isinstance(result.exception, SystemExit)
    if result.exit_code == 1:
        assert result.stdout == ""
        assert result.stderr.startswith("cnpg-render: error: ") and result.stderr.count("\n") == 1
        assert "internal error" not in result.stderr
    elif text.strip():
        assert result.stdout_bytes


@settings(max_examples=100, deadline=None)
@given(st.lists(PLAIN_DOC, max_size=6), st.integers(min_value=0, max_value=6))
def test_untouched_documents_come_out_byte_identical(plain_docs, position):
    docs = [b"---\n" + d.encode() for d in plain_docs]
    position = min(position, len(docs))
    data = b"".join(docs[:position]) + CLUSTER + b"".join(docs[position:])
    out = render(data, OVERLAY, Context()).output.getvalue()
    for doc in docs:
        assert doc in out
    assert out.startswith(b"".join(docs[:position]))
    assert out.endswith(b"".join(docs[position:]) or b"\n")


EXPECTED_CHANGES = {
    "standalone": ["+ ScheduledBackup/demo-cnpg-main-sched-backup-daily-backup",
                   "+ Secret/demo-cnpg-main-provider-backup-s3-creds",
                   "~ Cluster/demo-cnpg-main: metadata.annotations, spec.backup"],
    "recovery": ["+ ScheduledBackup/demo-cnpg-main-sched-backup-daily-backup",
                 "+ Secret/demo-cnpg-main-provider-backup-s3-creds",
                 "+ Secret/demo-cnpg-main-provider-recovery-s3-creds",
                 "~ Cluster/demo-cnpg-main: metadata.annotations, spec.bootstrap, spec.backup, spec.externalClusters"],
}


@settings(max_examples=60, deadline=None)
@given(st.lists(PLAIN_DOC, max_size=4), st.sampled_from(["", "1", "7", "42"]),
       st.sampled_from(["standalone", "recovery"]), st.booleans())
def test_rendering_twice_gives_the_same_bytes(plain_docs, revision, mode, leading_separator):
    text = (f"credentials:\n  s3: {{type: s3, bucket: b, accessKey: A, secretKey: S}}\n"
            f"cnpg:\n  main:\n    mode: {mode}\n    backups: {{enabled: true, credentials: s3}}\n"
            f"    recovery: {{credentials: s3, revision: '{revision}'}}\n")
    loaded = overlay.parse([("o.yaml", text)])
    data = CLUSTER[(0 if leading_separator else 4):] + b"".join(b"---\n" + d.encode() for d in plain_docs)
    once = render(data, loaded, Context()).output.getvalue()
    assert changes(data, once) == EXPECTED_CHANGES[mode]
    twice = render(once, loaded, Context()).output.getvalue()
    assert twice == once
    assert len(stream.split(twice)) == len(stream.split(once))
