"""What every command does at the edge, without the CLI framework: find the overlay,
read the input, render, print notices (failures are `renderer.guard`'s).

`renderer.entry` calls this directly for the plain render Helm and ArgoCD run on every
release; `renderer.cli` (click) builds its commands on the same functions and the same
option table, so the two cannot drift apart."""

from __future__ import annotations

import os
import sys

from renderer.errors import RenderError

OVERLAY_ENV = "CNPG_RENDER_OVERLAY"
# The options every rendering command takes: parameter -> (flags, repeatable).
RENDER_OPTIONS = {
    "overlays": (("--overlay", "-f"), True),
    "release": (("--release",), False),
    "namespace": (("--namespace", "-n"), False),
}


def overlay_paths(overlays: tuple[str, ...]) -> list[str]:
    paths = list(overlays) or ([os.environ[OVERLAY_ENV]] if os.environ.get(OVERLAY_ENV) else [])
    if not paths:
        raise RenderError("--overlay", f"no overlay given: pass --overlay FILE or set {OVERLAY_ENV}")
    return paths


def read_inputs(files: tuple[str, ...]) -> bytes | bytearray:
    """The input stream: files in order (a `---` between them), or stdin. One regular
    file is read in one go (its size is known); anything else goes into one growing
    buffer, so a 100 MB pipe costs 100 MB, not twice that."""
    names = files or ("-",)
    if len(names) == 1:
        whole = _read_regular_file(names[0])
        if whole is not None:
            return whole
    out = bytearray()
    for name in names:
        start = len(out)
        if out and not out.endswith(b"\n"):
            out += b"\n"
        separator_at = len(out)
        try:
            _read_into(out, stdin() if name == "-" else open(name, "rb"))  # noqa: SIM115  _read_into closes it
        except OSError as exc:
            raise RenderError(name, f"cannot read input: {exc.strerror or exc}") from None
        if start and out[separator_at:].strip() and not out.startswith(b"---", separator_at):
            out[separator_at:separator_at] = b"---\n"
    return out


def stdin():
    """The binary stdin; a closed one (`<&-`) is the caller's mistake, said in one line."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise RenderError("stdin", "is closed: pass the manifests as FILE arguments or on a pipe")
    return stream


def _read_regular_file(name: str) -> bytes | None:
    """The bytes of `name` (stdin for "-") when it is a regular file, else None."""
    import stat

    try:
        handle = sys.stdin.buffer if name == "-" else open(name, "rb")  # noqa: SIM115  closed below
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            if name != "-":
                handle.close()
            return None
        with handle:
            return handle.read()
    except (OSError, ValueError, AttributeError):
        return None  # not a real file (a test's stream, a closed stdin): the general path decides


def _read_into(out: bytearray, handle) -> None:
    with handle:
        while block := handle.read1(1 << 20):
            out += block


def prepare_bytes(overlays, release, namespace, buf):
    """The overlay loaded and `buf` split and planned (`renderer.render.prepare`)."""
    from renderer import overlay as overlay_model
    from renderer.render import prepare
    from renderer.transform import Context

    return prepare(buf, overlay_model.load(overlay_paths(overlays)), Context(release=release, namespace=namespace))


def render_bytes(overlays, release, namespace, buf, options=None, collect=False):
    """Shared by every command that renders: the Rendered result of `buf`; store and
    live state are read only when `options` (FactOptions) ask for them. Failures
    propagate to the guard (`renderer.guard`), which prints them."""
    from renderer.render import finish

    prepared = prepare_bytes(overlays, release, namespace, buf)
    if options is None:
        return finish(prepared)
    from renderer.gather import gather

    return finish(prepared, gather(prepared.planned.plans, options, prepared.secret), collect)


def run_render(overlays, release, namespace, files, facts=None, collect=False):
    """`render_bytes` of the input files (or stdin). `facts`: the facts_options values."""
    options = None
    if facts and any(facts.values()):
        from renderer.gather import FactOptions, check_options

        options = FactOptions(**facts)
        check_options(options, files)
    return render_bytes(overlays, release, namespace, read_inputs(files), options, collect)


def render_stream(overlays, release, namespace, files, facts=None) -> None:
    """`render`: the output goes to stdout in one go, after everything succeeded."""
    from renderer.guard import emit, warn

    rendered = run_render(overlays, release, namespace, files, facts)
    warn(rendered.notices)
    emit(rendered.output)
