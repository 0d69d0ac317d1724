"""The names of the temporary files and staging folders that outputs are written through, and the sweep that
removes the ones a killed run left behind. Kept apart from :mod:`gscp_match.tables._io` so that the command line can
sweep
without importing pandas.

* :func:`gscp_match.tables._io.atomic_path` writes ``.<name>.gscp-<pid>-<random>.tmp<suffix>`` beside its target;
* :func:`gscp_match.tables._io.staged_outputs` writes into a folder ``.gscp-stage-<pid>-<random>`` beside its targets.

Both are hidden, and both carry the id of the process that made them, so :func:`sweep_stale_temporaries` can tell
a file of a live run (left alone) from one of a run that was killed (removed).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from pathlib import Path

__all__ = ["STAGE_PREFIX", "TMP_MARK", "fsync_folder", "sweep_stale_temporaries"]

#: Between a temporary file's target name and the writer's pid: ``.<name>.gscp-<pid>-<random>.tmp<suffix>``.
TMP_MARK = ".gscp-"
#: Start of a staging folder's name: ``.gscp-stage-<pid>-<random>``.
STAGE_PREFIX = ".gscp-stage-"
_TEMPORARY = re.compile(r"^\..+\.gscp-(?P<pid>\d+)-[^.]+\.tmp|^\.gscp-stage-(?P<stage_pid>\d+)-")


def sweep_stale_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files and staging folders that a killed run left in ``folder``; return them.

    Only names this module makes are touched (``.<name>.gscp-<pid>-<random>.tmp...``, ``.gscp-stage-<pid>-...``),
    and only when their process is gone: the pid is not running, or the process running under that pid started
    after the file was last written (the pid was reused). A temporary of a live run is left alone.
    """
    folder = Path(folder)
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:  # no folder yet (or not readable): nothing to sweep
        return removed
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None:
            continue
        pid = int(match.group("pid") or match.group("stage_pid"))
        try:
            written = entry.lstat().st_mtime
        except OSError:
            continue
        if not _writer_gone(pid, written):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()
        removed.append(entry)
    return removed


def _writer_gone(pid: int, written: float) -> bool:
    if pid == os.getpid():
        return written < _PROCESS_STARTED  # left by an earlier process that had this pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError):
        pass  # running, as another user
    started = _process_start(pid)
    return started is not None and written < started


def _process_start(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), from /proc; None where /proc is not there."""
    try:
        stat_fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(
            float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime")
        )
        return boot + int(stat_fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration, AttributeError):
        return None


_PROCESS_STARTED: float = _process_start(os.getpid()) or time.time()


def fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (POSIX; a folder that cannot be opened is left as it is)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
