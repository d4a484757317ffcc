"""Secret values never reach a channel a person reads: a marker planted in every secret
overlay field (and in a chart's own Secret), in every spelling YAML allows — tagged,
quoted, wrongly typed — and in every input shape (YAML, JSON, List items, Lists in JSON,
a stream rendered before, a KRM ResourceList) is looked for in the stdout of diff and
plan, in stderr of every command, in the last-error file and in KRM results.

render's own stdout (and the items of a KRM ResourceList) carry the generated Secret:
that is the product, not a channel to mask."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renderer.cli import main
from tests.helpers import run_cli

# Secret fields per provider and the other fields each needs; every secret field is planted.
PROVIDERS = {
    "s3": ({"type": "s3", "bucket": "b"}, ("accessKey", "secretKey", "encrKey")),
    "azure-connection-string": ({"type": "azure", "storageAccount": "acct", "container": "c"}, ("connectionString",)),
    "azure-storage-key": ({"type": "azure", "storageAccount": "acct", "container": "c"}, ("storageKey", "encrKey")),
    "azure-sas-token": ({"type": "azure", "storageAccount": "acct", "container": "c"}, ("storageSasToken",)),
    "google": ({"type": "google", "bucket": "b"}, ("applicationCredentials",)),
}
# How the secret is written: valid spellings render; the others fail, and must fail quietly.
SPELLINGS = {
    "plain": "{m}", "single": "'{m}'", "double": '"{m}"', "str-tag": "!!str {m}", "int-tag": "!!int {d}",
    "literal": "|-\n        {m}",
    "bad-int-tag": "!!int {m}", "bad-float-tag": "!!float {m}", "bad-bool-tag": "!!bool {m}",
    "bad-timestamp-tag": "!!timestamp {m}", "list": "[{m}]", "mapping": "{{k: {m}}}", "float": "{d}.5",
}
SHAPES = ("yaml", "yaml-list", "json", "json-list", "rendered-before", "list-with-chart-secret")


def cluster() -> dict:
    return {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
            "metadata": {"name": "pg", "namespace": "db", "labels": {"app.kubernetes.io/instance": "rel"}},
            "spec": {"instances": 1, "bootstrap": {"initdb": {"database": "app"}}}}


def chart_secret(marker: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "chart", "namespace": "db"},
            "stringData": {"password": f"{marker}C"}}


def overlay_text(provider: str, spelling: str, marker: str, digits: str, mode: str, engine: str) -> str:
    fields, secrets = PROVIDERS[provider]
    lines = ["credentials:", "  store:"] + [f"    {k}: {v}" for k, v in fields.items()]
    for i, key in enumerate(secrets):
        lines.append(f"    {key}: " + SPELLINGS[spelling].format(m=f"{marker}{i}", d=f"{digits}{i}"))
    lines += ["cnpg:", "  main:", "    match: {name: pg}", f"    mode: {mode}", f"    engine: {engine}",
              "    backups: {enabled: true, credentials: store, revision: '2'}",
              "    recovery: {credentials: store, revision: '1'}"]
    return "\n".join(lines) + "\n"


def stream(shape: str, marker: str) -> bytes:
    obj = cluster()
    if shape == "yaml":
        return yaml.safe_dump(obj).encode()
    if shape == "yaml-list":
        return yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [obj]}).encode()
    if shape == "json":
        return json.dumps(obj, indent=2).encode()
    if shape == "json-list":
        return json.dumps({"apiVersion": "v1", "kind": "List", "items": [obj]}).encode()
    if shape == "list-with-chart-secret":
        return yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [chart_secret(marker), obj]}).encode()
    raise ValueError(shape)  # rendered-before is built by rendering first


def cli(args: list[str], stdin: bytes):
    result = CliRunner().invoke(main, args, input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def channels(overlay: Path, data: bytes, le: Path) -> dict[str, str]:
    """Every channel a person reads, from each command, in-process."""
    seen = {}
    for args in (["render"], ["diff"], ["plan"], ["plan", "-o", "json"]):
        result = cli([*args, "--overlay", str(overlay)], data)
        if args != ["render"]:
            seen[f"{args} stdout"] = result.stdout
        seen[f"{args} stderr"] = result.stderr
        seen[f"{args} last-error"] = le.read_text() if le.exists() else ""
    config = {"apiVersion": "cnpg-render.io/v1", "kind": "CnpgBackup", "metadata": {"name": "b"}}
    config_text = yaml.safe_dump(config) + overlay.read_text()
    items = [d for d in yaml.safe_load_all(data) if d] if not data.lstrip().startswith(b"{") else [json.loads(data)]
    resource_list = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: " + json.dumps(items) + \
        "\nfunctionConfig:\n" + "".join(f"  {line}\n" for line in config_text.splitlines())
    krm = cli(["krm"], resource_list.encode())
    try:
        results = (yaml.safe_load(krm.stdout) or {}).get("results") or []
    except yaml.YAMLError:
        results = []
    seen["krm results"] = json.dumps(results)
    seen["krm stderr"] = krm.stderr
    cfg = overlay.with_name("config.yaml")
    cfg.write_text(config_text)
    seen["kustomize-plugin stderr"] = cli(["kustomize-plugin", str(cfg)], data).stderr
    seen["last-error"] = le.read_text() if le.exists() else ""
    return seen


def assert_no_marker(seen: dict[str, str], *markers: str) -> None:
    for channel, text in seen.items():
        for marker in markers:
            assert marker not in text, f"{marker} in {channel}:\n{text}"


MARKERS = st.from_regex(r"MRK[A-Za-z0-9]{10,16}", fullmatch=True)
DIGITS = st.from_regex(r"7[0-9]{12,15}", fullmatch=True)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(PROVIDERS)), st.sampled_from(sorted(SPELLINGS)), st.sampled_from(SHAPES),
       st.sampled_from(["standalone", "recovery"]), st.sampled_from(["barmanObjectStore", "plugin"]), MARKERS, DIGITS)
def test_no_channel_shows_a_secret(provider, spelling, shape, mode, engine, marker, digits):
    with tempfile.TemporaryDirectory() as tmp:
        le = Path(tmp) / "last-error"
        os.environ["CNPG_RENDER_LAST_ERROR"] = str(le)
        overlay = Path(tmp) / "overlay.yaml"
        overlay.write_text(overlay_text(provider, spelling, marker, digits, mode, engine))
        if shape == "rendered-before":
            first = cli(["render", "--overlay", str(overlay)], stream("yaml", marker))
            data = first.stdout_bytes if first.exit_code == 0 else stream("yaml", marker)
        else:
            data = stream(shape, marker)
        assert_no_marker(channels(overlay, data, le), marker, digits)


def test_the_planted_secret_does_reach_render_output():
    """The property above cannot pass by rendering nothing: the same planting, valid
    spelling, puts every marker in render's stdout (and diff still masks them)."""
    with tempfile.TemporaryDirectory() as tmp:
        overlay = Path(tmp) / "overlay.yaml"
        overlay.write_text(overlay_text("s3", "int-tag", "MRKcheck", "712345", "recovery", "plugin"))
        out = cli(["render", "--overlay", str(overlay)], stream("yaml-list", "MRKcheck")).stdout
        assert "7123450" in out and "7123451" in out  # accessKey, secretKey (encrKey is not used by CNPG)
        diff = cli(["diff", "--overlay", str(overlay)], stream("list-with-chart-secret", "MRKcheck"))
        assert diff.exit_code == 1 and "'****'" in diff.stdout and "MRKcheck" not in diff.stdout


def test_real_cli_masks_a_chart_secret_in_a_json_list_and_our_secret_rendered_before(tmp_path):
    """The same promise through the executable, on the two shapes that leaked: a Secret
    inside a List, and a stream that already holds our generated Secret."""
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(overlay_text("s3", "plain", "MRKreal", "7999", "standalone", "barmanObjectStore"))
    listed = json.dumps({"apiVersion": "v1", "kind": "List", "items": [chart_secret("MRKreal"), cluster()]}).encode()
    diff = run_cli("diff", "--overlay", str(overlay), stdin=listed)
    assert diff.returncode == 1 and b"MRKreal" not in diff.stdout + diff.stderr
    rendered = run_cli("render", "--overlay", str(overlay), stdin=yaml.safe_dump(cluster()).encode()).stdout
    assert b"MRKreal0" in rendered
    again = run_cli("diff", "--overlay", str(overlay), "--release", "other", stdin=rendered)
    assert again.returncode == 1 and b"MRKreal" not in again.stdout + again.stderr


def test_real_cli_never_prints_a_tagged_secret_that_fails_to_load(tmp_path):
    """`secretKey: !!int hunter2` once reached an internal error message, and the Helm 4
    last-error file, with the value in it."""
    le = tmp_path / "le"
    for tag in ("!!int", "!!float", "!!bool"):  # (the codec keeps timestamps as text: !!timestamp is just text)
        overlay = tmp_path / "overlay.yaml"
        overlay.write_text(f"credentials:\n  s3: {{type: s3, bucket: b, accessKey: AKIAX, secretKey: {tag} hunter2x}}\n"
                           "cnpg:\n  pg: {backups: {enabled: true, credentials: s3}}\n")
        result = run_cli("--overlay", str(overlay), stdin=yaml.safe_dump(cluster()).encode(),
                         env={"CNPG_RENDER_LAST_ERROR": str(le)})
        assert result.returncode == 1 and result.stdout == b""
        assert b"hunter2x" not in result.stderr and "hunter2x" not in le.read_text()
