"""The last error, kept in a file so that Helm 4 users can find it.

Helm 4 runs post-renderer plugins with stderr captured and thrown away: the user
only sees `plugin "cnpg-render" exited with error`. So every failing command also
writes its one-line message here, with when, which command and which release, and
`cnpg-render last-error` prints it. A later success does not erase it (the message
may still be what you are looking for) but marks it stale, so an old error is never
mistaken for the current one.

The file lives at `$CNPG_RENDER_LAST_ERROR`, else
`${XDG_STATE_HOME:-~/.local/state}/cnpg-render/last-error` (per user, so that
concurrent users and CI jobs with their own HOME do not see each other's errors);
the success mark is a second file beside it, `<file>.success`, so that a success
never rewrites the error (two runs racing cannot lose a newer error).

The format is text: the message line first, then `key: value` lines. A file holding
only the message (as the Helm 4 plugin launcher writes when it cannot start us) is
read the same way. Only `renderer.guard` writes here, and it redacts secrets first.
"""

from __future__ import annotations

import os

from renderer.records import record

TYPE_CHECKING = False  # see renderer.records
if TYPE_CHECKING:
    from pathlib import Path

ENV_PATH = "CNPG_RENDER_LAST_ERROR"
SUCCESS_SUFFIX = ".success"


@record(frozen=True)
class LastError:
    """What `read` found: the message, its `key: value` details and, when a later run
    succeeded, that run's time."""

    message: str
    details: dict
    stale_since: str | None = None


def location() -> str:
    """Where the last error is kept; env first so tests and wrappers can move it. (Paths
    here are text: every successful render asks, and pathlib costs 5 ms to import.)"""
    explicit = os.environ.get(ENV_PATH)
    if explicit:
        return explicit
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "cnpg-render", "last-error")


def path() -> Path:
    """`location()` as a Path, for the CLI."""
    from pathlib import Path

    return Path(location())


def record_error(message: str, details: dict[str, str]) -> None:
    """Store `message` (one line) and its details as the last error; never raises.

    Writing is a side channel for a failure that is already being reported, so any
    problem here (read-only HOME, full disk) must not mask the real error. The write
    is atomic (temp file + rename) so a reader never sees half a message, and mode
    0600 because messages name overlay paths and objects."""
    lines = [message.rstrip("\n")] + [f"{key}: {value}" for key, value in details.items() if value]
    _write_quietly(location(), "\n".join(lines) + "\n")


def record_success(when: str) -> None:
    """Mark the last error stale. Cheap on the render path: one failed `stat` when no
    error was recorded. Times are compared as written (UTC, microseconds), not by file
    mtimes, whose coarse ticks cannot order a success and an error a moment apart."""
    if not os.path.exists(location()):
        return
    last = read()
    if last is not None and last.stale_since is None and last.details.get("time", "") < when:
        _write_quietly(location() + SUCCESS_SUFFIX, f"time: {when}\n")


def now() -> str:
    """UTC with microseconds, fixed width: such strings sort as the times they name."""
    import time

    stamp = time.time_ns() // 1000
    seconds, micros = divmod(stamp, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{micros:06d}Z"


def _write_quietly(target: str, text: str) -> None:
    """The temporary file is made here, not by `tempfile` (3 ms to import, and every
    failing Helm render writes here): a random name, created exclusively, mode 0600."""
    try:
        folder, name = os.path.split(target)
        os.makedirs(folder or ".", mode=0o700, exist_ok=True)
        tmp = os.path.join(folder or ".", f".{name}.{os.urandom(6).hex()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
    except Exception:  # by contract this side channel never fails the caller
        pass


def read() -> LastError | None:
    """The last recorded error, or None when there is none."""
    try:
        message, *rest = _lines(location()) or [""]
    except (OSError, UnicodeDecodeError):
        return None
    if not message:
        return None
    details = _fields(rest)
    return LastError(message, details, _stale_since(details.get("time", "")))


def _lines(name: str) -> list[str]:
    with open(name, encoding="utf-8") as handle:
        return handle.read().splitlines()


def _fields(lines: list[str]) -> dict[str, str]:
    pairs = (line.partition(": ") for line in lines)
    return {key: value for key, sep, value in pairs if sep}


def _stale_since(error_time: str) -> str | None:
    """The time of a success recorded after the error, if any."""
    try:
        success = _fields(_lines(location() + SUCCESS_SUFFIX)).get("time", "")
    except (OSError, UnicodeDecodeError):
        return None
    return success if success > error_time else None


def describe(last: LastError | None) -> list[str]:
    """What `cnpg-render last-error` prints."""
    if last is None:
        return ["no error recorded"]
    details = last.details
    when = details.get("time", "an unknown time")
    run = f"`cnpg-render {details['command']}`" if details.get("command") else "cnpg-render"
    extra = ", ".join(f"{key} {details[key]}" for key in ("release", "version") if details.get(key))
    lines = [last.message, f"  from {run} at {when}" + (f" ({extra})" if extra else "")]
    if last.stale_since is not None:
        lines.append(f"  stale: a later run succeeded at {last.stale_since}; this error is from before it")
    return lines
