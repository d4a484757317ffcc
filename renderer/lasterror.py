"""The last render error, kept in a file so that Helm 4 users can find it.

Helm 4 runs post-renderer plugins with stderr captured and thrown away: the user
only sees `plugin "cnpg-render" exited with error`. So the render error path
also writes its one-line message here, and `cnpg-render last-error` prints it.

The file lives at `$CNPG_RENDER_LAST_ERROR`, else
`${XDG_STATE_HOME:-~/.local/state}/cnpg-render/last-error` (per user, so that
concurrent users and CI jobs with their own HOME do not see each other's errors).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

ENV_PATH = "CNPG_RENDER_LAST_ERROR"


def path() -> Path:
    """Where the last error is kept; env first so tests and wrappers can move it."""
    explicit = os.environ.get(ENV_PATH)
    if explicit:
        return Path(explicit)
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "cnpg-render" / "last-error"


def record(message: str) -> None:
    """Store `message` as the last error; never raises.

    Writing is a side channel for a failure that is already being reported, so
    any problem here (read-only HOME, full disk) must not mask the real error.
    The write is atomic (temp file + rename) so a reader never sees half a
    message, and mode 0600 because messages name overlay paths and objects.
    """
    try:
        target = path()
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".last-error.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(message.rstrip("\n") + "\n")
            os.chmod(tmp, 0o600)
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
    except Exception:  # noqa: BLE001 - by contract this side channel never fails the caller
        pass


def read() -> str | None:
    """The last recorded message without its newline, or None when there is none."""
    try:
        text = path().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return text.rstrip("\n") or None


@click.command("last-error")
@click.option("--path", "show_path", is_flag=True, help="Print where the last error is kept instead.")
def command(show_path: bool) -> None:
    """Print the last render error (Helm 4 hides post-renderer stderr)."""
    if show_path:
        click.echo(str(path()))
        return
    message = read()
    click.echo(message if message is not None else "no error recorded")
