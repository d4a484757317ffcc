"""The one way every command ends: `run` wraps each command (the click group wraps
every command it is given, so a new command gets it without asking), and whatever
goes wrong inside becomes

    cnpg-render: error: <where>: <what>

on one line of stderr (control characters escaped, secrets masked), nothing more on
stdout, the last-error file updated (Helm 4 hides our stderr) and the command's
failure exit code (1; `diff` uses 2, as diff(1) does). Findings are not failures:
`plan --exit-code` and `verify` print their table and exit 2 (refused, not confirmed)
or 3 (something not checked) themselves, after success. That covers our own errors, a
closed stdout (`| head`), a full disk, Ctrl-C and our bugs, which are reported by type
and place, never by message: a library's message can quote a value we read.

Commands write stdout only through `emit`, once, after all their work succeeded; if
the write itself fails, a regular file is cut back to where it was, so a failed run
leaves no half output behind. A success marks an older recorded error stale.

No click here: the plain render path (`renderer.entry`) runs inside `run` too."""

from __future__ import annotations

import errno
import functools
import os
import re
import sys

from renderer.errors import Notice, RenderError

TYPE_CHECKING = False  # see renderer.records
if TYPE_CHECKING:  # annotations only: the render path imports this module
    from collections.abc import Callable, Iterable
    from typing import Any, NoReturn, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])

INTERRUPTED_EXIT = 130  # 128 + SIGINT, what a shell reports for Ctrl-C
# Compiled on first use (re caches it): most renders print no line at all.
_CONTROL = "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]"
# What the last-error file says about the failing run; `note` adds to it.
_run: dict[str, str] = {}


class OutputError(RenderError):
    """stdout could not be written (closed pipe, full disk)."""


def one_line(text: str) -> str:
    """`text` escaped as Python escapes strings, for line breaks and every other
    character that can move the cursor, hide text or reverse it: a Cluster named
    "x\\ncnpg-render: error: ..." cannot forge a second line."""
    if text.isprintable():  # the common case, without compiling the pattern (non-printable: a superset)
        return text
    return re.sub(_CONTROL, lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii"), text)


def clean(text: str) -> str:
    """`text` as any channel may show it: secrets masked, on one line."""
    from renderer.sensitive import redact

    return one_line(redact(text))


def _line(kind: str, text: str) -> str:
    return f"cnpg-render: {kind}: {clean(text)}"


def say(kind: str, text: str) -> None:
    """One line on stderr (`warning`, `invalid`, ...)."""
    say_raw(_line(kind, text))


def warn(notices: Iterable[Notice | str]) -> None:
    for notice in notices:
        say("warning", str(notice))


def note(**details: str | None) -> None:
    """Tell the last-error file more about this run (e.g. the release a config names)."""
    _run.update({key: value for key, value in details.items() if value})


def fail(error: RenderError, exit_code: int = 1) -> NoReturn:
    """The one way a command fails: one line on stderr, recorded, nothing more on stdout."""
    line = _line("error", str(error))
    say_raw(line)
    from renderer import __version__, lasterror

    lasterror.record_error(line, {"time": lasterror.now(), **_run, "version": __version__})
    sys.exit(exit_code)


def say_raw(line: str) -> None:
    """`line` on stderr as it is; stderr trouble (closed, full) never fails a run."""
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass


def run(command: str, function: Callable[..., Any], *args: Any, failure_exit: int = 1, record: bool = True,
        **kwargs: Any) -> Any:
    """Run one command inside the guard (see the module docstring). `record=False`
    (`last-error` itself) leaves the last-error file alone, failing or not."""
    _run.clear()
    note(command=command, release=kwargs.get("release"))
    try:
        result = function(*args, **kwargs)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        _end(RenderError(command, "interrupted"), INTERRUPTED_EXIT, record)
    except Exception as exc:  # the point of the guard
        if _is_click(exc):
            raise  # usage errors: the CLI formats them (renderer.cli.run)
        _end(as_error(exc), failure_exit, record)
    if record:
        from renderer import lasterror

        lasterror.record_success(lasterror.now())
    return result


def _end(error: RenderError, exit_code: int, record: bool) -> NoReturn:
    if record:
        fail(error, exit_code)
    say_raw(_line("error", str(error)))
    sys.exit(exit_code)


def as_error(exc: BaseException) -> RenderError:
    """Any exception as the one-line error a user sees. Our own errors as they are; an
    OS error by file and reason; anything else is our bug, named by type and place."""
    if isinstance(exc, RenderError):
        return exc
    if isinstance(exc, OSError):
        if exc.filename is None and (isinstance(exc, BrokenPipeError) or exc.errno == errno.ENOSPC):
            _take_back(getattr(sys.stdout, "buffer", None), None)  # a write by a library (click's help)
            return OutputError("stdout", _output_trouble(exc))
        where = exc.filename if isinstance(exc.filename, str) else "I/O"
        return RenderError(where, f"{exc.strerror or type(exc).__name__}")
    if isinstance(exc, MemoryError):
        return RenderError("memory", "out of memory: the input is too large for this machine")
    return RenderError("internal error", f"{type(exc).__name__} at {_place(exc)} (please report this; "
                                         "the message is not shown because it may quote your input)")


def _place(exc: BaseException) -> str:
    """`renderer/x.py:12`: the innermost frame of ours (else the innermost at all)."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f"{os.sep}renderer{os.sep}" in f.filename] or frames
    if not ours:
        return "?"
    frame = ours[-1]
    return f"renderer{frame.filename.rsplit(os.sep + 'renderer', 1)[-1]}:{frame.lineno}"


def _is_click(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] == "click"


def guarded(*, failure_exit: int = 1, record: bool = True) -> Callable[[F], F]:
    """Declare how a command's failures end (before the click decorators): `diff`
    fails with 2, `last-error` records nothing. `renderer.cli` reads these."""

    def mark(function: F) -> F:
        function.guard = {"failure_exit": failure_exit, "record": record}  # type: ignore[attr-defined]
        return function

    return mark


def wrap(name: str, callback: F) -> F:
    """`callback` run inside the guard, with the options `guarded` declared on it."""
    if getattr(callback, "guarded", False):
        return callback
    options = getattr(callback, "guard", {})

    @functools.wraps(callback)
    def command(*args: Any, **kwargs: Any) -> Any:
        return run(name, callback, *args, **options, **kwargs)

    command.guarded = True  # type: ignore[attr-defined]
    return command  # type: ignore[return-value]


# --------------------------------------------------------------------------- stdout


def emit(pieces: Iterable[bytes | bytearray | memoryview | str]) -> None:
    """Write a command's output to stdout and flush it. On a write failure the output
    is taken back where it can be (a regular file is cut to where it was), further
    writes are sent nowhere (so Python's own flush at exit cannot print a traceback),
    and OutputError says what happened."""
    stream = getattr(sys.stdout, "buffer", None)
    if stream is None:
        raise OutputError("stdout", "is closed: nothing can be written (run without `>&-`)")
    start = _position(stream)
    try:
        for piece in pieces:
            stream.write(piece.encode("utf-8") if isinstance(piece, str) else piece)
        stream.flush()
    except OSError as exc:
        _take_back(stream, start)
        raise OutputError("stdout", _output_trouble(exc)) from None


def _output_trouble(exc: OSError) -> str:
    if isinstance(exc, BrokenPipeError):
        return "closed by the reader before all output was written (broken pipe, e.g. `| head`)"
    if exc.errno == errno.ENOSPC:
        return "no space left on device: the output was not written (a regular file was cut back)"
    return f"cannot write: {exc.strerror or type(exc).__name__}"


def _position(stream) -> int | None:
    """Where our output will start in a regular-file stdout, if it starts at the file's
    end (`>` or `>>`); None for pipes, terminals and files we would write into the
    middle of (`1<>file`), which are never cut."""
    import stat

    try:
        fd = stream.fileno()
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            return None
        import fcntl

        appending = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND
        position = status.st_size if appending else os.lseek(fd, 0, os.SEEK_CUR)
        return position if position == status.st_size else None
    except (OSError, ValueError, AttributeError):
        return None


def _take_back(stream, start: int | None) -> None:
    """Cut a regular file back to `start` (and its offset, which stderr shares under
    `2>&1`, so the error line lands where the output would have), then point stdout at
    /dev/null: what is still buffered goes nowhere, and Python's flush at exit is quiet."""
    try:
        fd = stream.fileno()
        if start is not None:
            os.ftruncate(fd, start)
            os.lseek(fd, start, os.SEEK_SET)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass
