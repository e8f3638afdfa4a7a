"""The only code that writes files: atomic file and directory replacement, and digests."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from audit.errors import OutputError, UsageError
from audit.marks import (
    KEPT,
    MARKER,
    file_problem,
    is_leftover_of_ours,
    listing,
    marker_text,
    new_run_id,
    ownership_problem,
    read_marker,
)

_CHUNK = 1 << 20


# errors that say the place cannot take the write, whatever was being written: the user frees space or
# writes elsewhere. Permission errors count only for paths of the output itself (a seed may be unreadable).
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_READ_ONLY = frozenset({errno.EROFS})
_NOT_ALLOWED = frozenset({errno.EACCES, errno.EPERM})


@contextlib.contextmanager
def writing(target: Path, elsewhere: str) -> Iterator[None]:
    """Turn an OSError that says target cannot be written into an OutputError naming target and the fix.

    ``elsewhere`` tells how to write somewhere else, e.g. "choose another directory with --tables".
    """
    try:
        yield
    except OSError as exc:
        if exc.errno is None or not _cannot_write(exc, target):
            raise
        fix = "free some space there" if exc.errno in _FULL else "make it writable"
        raise OutputError(
            f"cannot write {target}: {os.strerror(exc.errno)}. Nothing was replaced: what was there "
            f"before is intact. To fix, {fix}, or {elsewhere}."
        ) from exc


def _cannot_write(exc: OSError, target: Path) -> bool:
    if exc.errno in _FULL or exc.errno in _READ_ONLY:
        return True
    if exc.errno not in _NOT_ALLOWED:
        return False
    # pyarrow's errors carry no file name; ours are the target's parent, or under the target or a
    # staging, backup or temp name beside it (".tables.new-…", ".latest.json.….tmp")
    if exc.filename is None:
        return True
    path = Path(os.fsdecode(exc.filename)).absolute()
    if path == target.parent:
        return True
    if not path.is_relative_to(target.parent):
        return False
    top = path.relative_to(target.parent).parts[0]
    return top == target.name or top.startswith(f".{target.name}.")


_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


def not_a_file(mode: int) -> str | None:
    """What a file mode is if it is not a regular file ("a named pipe"); None for a regular file."""
    return None if stat.S_ISREG(mode) else _KINDS.get(stat.S_IFMT(mode), "not a file")


def read_regular(path: Path, limit: int = -1) -> bytes:
    """A regular file's bytes (its first ``limit`` bytes, if one is given), or OSError: a plain read of a
    named pipe would wait for a writer forever."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # opening a pipe this way does not wait
    with os.fdopen(fd, "rb") as fh:
        if kind := not_a_file(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, f"not a regular file ({kind})", str(path))
        return fh.read(limit)


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write bytes to path via a temp file in the same directory, fsync, then rename over it.

    ``durable=False`` skips the fsync (a crash may leave an empty file): only for caches, which read a
    damaged entry as a miss. An fsync costs ~6 ms here, 10,000 of them a minute.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp's 0600 would stay with the file once renamed
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def shown(text: str) -> str:
    """Text that may hold a file name the OS gave as bytes, with each byte that is not UTF-8 as \\xNN.

    Python decodes such names with "surrogateescape" (b"caf\\xe9" -> "caf\\udce9"); no UTF-8 file can
    hold that, so reports and tables show "caf\\xe9" instead.
    """
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate of another kind: \\udXXX
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def atomic_write_text(path: Path, text: str, *, durable: bool = True) -> None:
    """Write UTF-8 text atomically; a file name that is not UTF-8 in it is written as ``shown`` gives it."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        data = shown(text).encode("utf-8")
    atomic_write(path, data, durable=durable)


def recover_dir(target: Path) -> None:
    """Undo a swap interrupted between its two renames: put in place the folder its journal names.

    Then remove what interrupted runs left beside target: staging directories and old backups. Only the
    audit's own are touched (``marks.is_leftover_of_ours``); another folder by such a name is refused.
    """
    if not target.parent.exists():
        return
    journal = _journal(target)
    leftovers = [*target.parent.glob(f".{target.name}.old-*"), *target.parent.glob(f".{target.name}.new-*")]
    for path in leftovers:
        if not is_leftover_of_ours(path):
            raise UsageError(
                f"{path}: is named like a folder the audit leaves when interrupted, but carries no audit "
                f"marker ({MARKER}), so the audit does not delete it. Rename or move it, then run again."
            )
    named = _journaled_backup(target)
    # only the folder the swap's journal names is put in place: the previous one, or for a report
    # retired before new tables came in (``retire_dir``) its empty successor, never the old report
    if not target.exists() and named is not None and named in leftovers:
        os.replace(named, target)
        leftovers.remove(named)
    for path in leftovers:
        remove_ours(path)
    journal.unlink(missing_ok=True)


def _journal(target: Path) -> Path:
    return target.parent / f".{target.name}.swap"


def _journaled_backup(target: Path) -> Path | None:
    """The folder a swap's journal names; a journal the audit did not write is refused."""
    journal = _journal(target)
    if not journal.exists() and not journal.is_symlink():
        return None
    try:
        name = journal.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        name = ""
    if re.fullmatch(rf"\.{re.escape(target.name)}\.(old-[0-9]+|new-\w+)", name) is None:
        raise UsageError(
            f"{journal}: is named like the audit's swap journal but was not written by it. "
            "Rename or move it, then run again."
        )
    return target.parent / name


@contextlib.contextmanager
def atomic_dir(
    target: Path,
    elsewhere: str,
    *,
    kind: str,
    place: str,
    before_swap: Callable[[], None] | None = None,
    run: str | None = None,
) -> Iterator[Path]:
    """Yield a fresh temp directory; on success it replaces target whole, so readers never see a mix.

    Target must be absent, empty or the audit's own folder of ``kind`` holding nothing else
    (``marks.ownership_problem``; else UsageError naming ``place``). The staging directory carries the
    audit's marker from the start and, at the end, the list of what was written into it. The previous
    directory is renamed aside, the new one renamed in, the old one removed. A crash between the two
    renames leaves the old directory under a backup name; ``recover_dir`` restores it. ``before_swap``
    runs just before the renames (``audit run`` retires the report there); ``run`` is the run id the
    marker records (default: this run's). A full disk or a read-only place raises ``OutputError``
    (see ``writing``), with target untouched.
    """
    target = target.resolve()
    with writing(target, elsewhere), _swapped_in(target, kind, place, before_swap, run) as staging:
        yield staging


def check_owned(place: str, target: Path, kind: str) -> None:
    """Raise UsageError (one line naming the path and the fix) unless the audit may replace target."""
    if problem := ownership_problem(place, target, kind):
        raise UsageError(problem)


@contextlib.contextmanager
def _swapped_in(
    target: Path, kind: str, place: str, before_swap: Callable[[], None] | None, run: str | None
) -> Iterator[Path]:
    staging = _new_staging(target, kind, place)
    try:
        yield staging
        _seal(target, staging, kind, run)
        if before_swap is not None:
            before_swap()
        check_owned(place, target, kind)  # what the user may have put there meanwhile
        _swap(target, staging, back_to_previous=True)
    except BaseException:
        remove_ours(staging, ignore_errors=True)
        raise


def remove_ours(path: Path, *, ignore_errors: bool = False) -> None:
    """Delete one of the audit's folders, its marker last: a deletion cut short leaves it still marked
    as the audit's, for the next run's recovery to finish (not to refuse as someone else's)."""
    try:
        for child in sorted(path.iterdir()):
            if child.name == MARKER:
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        (path / MARKER).unlink(missing_ok=True)
        path.rmdir()
    except OSError:
        if not ignore_errors:
            raise


def _new_staging(target: Path, kind: str, place: str) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_dir(target)
    check_owned(place, target, kind)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.new-"))
    try:
        atomic_write_text(staging / MARKER, marker_text(kind, None))  # ours from the start
    except BaseException:
        remove_ours(staging, ignore_errors=True)
        raise
    return staging


def _seal(target: Path, staging: Path, kind: str, run: str | None) -> None:
    """Make a filled staging folder ready to swap in: kept names copied, the complete marker, synced, readable."""
    for name in sorted(KEPT):
        if (target / name).exists() and not (staging / name).exists():
            shutil.copy2(target / name, staging / name)
    atomic_write_text(staging / MARKER, marker_text(kind, listing(staging), run))
    _fsync_tree(staging)
    os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp's 0700 would keep the outputs private


def _swap(target: Path, staging: Path, *, back_to_previous: bool) -> None:
    """Rename target aside and staging in. The journal names what recovery puts in place if we die
    between the two renames: the previous folder, or (``back_to_previous`` False) the new one."""
    backup = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        atomic_write_text(_journal(target), backup.name if back_to_previous else staging.name)
        os.replace(target, backup)
    os.replace(staging, target)
    _journal(target).unlink(missing_ok=True)
    if backup.exists():
        remove_ours(backup, ignore_errors=True)


def check_owned_file(place: str, root: Path, name: str, kind: str) -> None:
    """Raise UsageError unless root/name is absent or listed in the marker of root, a folder of ``kind``
    that the audit adds to file by file (publish's --to)."""
    if problem := file_problem(place, root, name, kind):
        raise UsageError(problem)


def write_owned_file(root: Path, name: str, text: str, kind: str) -> None:
    """Write root/name atomically and list it in root's marker (made if absent) as the audit's."""
    body = read_marker(root)
    files = set(body.get("files") or ()) if body is not None and body["kind"] == kind else set()
    atomic_write_text(root / MARKER, marker_text(kind, files | {name}))
    atomic_write_text(root / name, text)


def retire_dir(target: Path, kind: str, place: str) -> None:
    """Replace the audit's own folder of ``kind`` by an empty one of its own (kept names such as .gitkeep
    stay), never to come back: ``audit run`` retires the report just before new tables come in."""
    target = target.resolve()
    with writing(target, f"choose another {place}"):
        recover_dir(target)
        if not target.exists():
            return
        staging = _new_staging(target, kind, place)
        try:
            _seal(target, staging, kind, None)
            _swap(target, staging, back_to_previous=False)
        finally:
            if staging.exists():
                remove_ours(staging, ignore_errors=True)


_SYNC_THREADS = 16


def _fsync_tree(root: Path) -> None:
    """fsync every file under root, several at once: the file system commits concurrent fsyncs together
    (200 report files here: 0.03-0.1 s, against 0.4-0.55 s one after another)."""
    files = [path for path in sorted(root.rglob("*")) if path.is_file()]
    if not files:
        return
    with ThreadPoolExecutor(min(_SYNC_THREADS, len(files))) as pool:
        for _ in pool.map(_fsync_file, files):  # raises the first error, as the loop did
            pass


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def current_umask() -> int:
    """This process's umask, read without changing it (os.umask would, for a moment, for every thread)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# places this process holds, and whether exclusively: a command nested in another (``run`` validates
# through ``validate``) takes what it needs from here instead of locking against itself
_HELD: dict[Path, bool] = {}
_LOCK_FDS: set[int] = set()


def _close_locks_in_child() -> None:
    # a forked worker must not keep the lock files open: it has no use for them, and before the locks
    # were POSIX record locks (which a child does not inherit) it kept the run's places locked after a
    # kill -9 of its parent
    for fd in _LOCK_FDS:
        with contextlib.suppress(OSError):
            os.close(fd)
    _LOCK_FDS.clear()
    _HELD.clear()


os.register_at_fork(after_in_child=_close_locks_in_child)


@contextlib.contextmanager
def in_use(writes: Mapping[str, Path], reads: Mapping[str, Path] | None = None) -> Iterator[None]:
    """Hold the places for one command: writes exclusively, reads shared, or raise UsageError at once.

    Two audits writing the same directory at once would delete each other's staging directory (each
    run's ``recover_dir`` clears what looks left over), and a run replacing tables that another run is
    validating would give it a mix. The lock is a POSIX record lock (``lockf``) on a ``.NAME.lock`` file
    beside each place: it belongs to this process alone (forked workers do not inherit it) and goes with
    it however it ends. Keys name the places for the message ("--tables"); the places are distinct
    (callers refuse overlaps first: ``places.check_apart``). The outermost command starts a new run id.
    """
    if not _HELD:
        new_run_id()
    places = [(n, p.resolve(), True) for n, p in writes.items()]
    places += [(n, p.resolve(), False) for n, p in (reads or {}).items()]
    with contextlib.ExitStack() as stack:
        for name, path, exclusive in sorted(places, key=lambda place: str(place[1])):
            if _HELD.get(path) in (True, exclusive):
                continue
            stack.enter_context(_locked(name, path, exclusive=exclusive))
        yield


@contextlib.contextmanager
def _locked(name: str, path: Path, *, exclusive: bool) -> Iterator[None]:
    lock = path.parent / f".{path.name}.lock"
    try:
        if exclusive:
            path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666 & ~current_umask())
    except OSError:
        if exclusive:  # say why the place cannot be written, as writing into it would
            with writing(path, f"choose another {name}"):
                raise
        yield  # missing or read-only: the command says what is missing, or reads it as it is
        return
    _LOCK_FDS.add(fd)
    try:
        try:
            fcntl.lockf(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            raise UsageError(
                f"{name} {path}: another audit (process {holder}) is using it. Wait for it to finish, "
                f"or choose another {name}."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        _HELD[path] = exclusive
        yield
    finally:
        _HELD.pop(path, None)
        if fd in _LOCK_FDS:  # (not in a forked child, which closed it already)
            _LOCK_FDS.discard(fd)
            os.close(fd)
