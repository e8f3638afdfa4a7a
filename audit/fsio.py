"""The only code that writes files: atomic file and directory replacement, and digests."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from audit.errors import OutputError, UsageError

_CHUNK = 1 << 20
# names in an output directory that are not ours and must survive a swap (e.g. reports/.gitkeep)
KEPT = frozenset({".gitkeep", ".gitignore"})


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


def read_regular(path: Path) -> bytes:
    """A regular file's bytes, or OSError: a plain read of a named pipe would wait for a writer forever."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # opening a pipe this way does not wait
    with os.fdopen(fd, "rb") as fh:
        if kind := not_a_file(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, f"not a regular file ({kind})", str(path))
        return fh.read()


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
    """Undo a swap interrupted between its two renames: put the previous complete directory back.

    Then remove what interrupted runs left beside target: staging directories and old backups.
    """
    if not target.parent.exists():
        return
    journal = _journal(target)
    leftovers = [*target.parent.glob(f".{target.name}.old-*"), *target.parent.glob(f".{target.name}.new-*")]
    if not target.exists():
        named = target.parent / journal.read_text(encoding="utf-8") if journal.exists() else None
        backups = [p for p in leftovers if ".old-" in p.name]
        # the swap's journal names its backup; without one, the most recently modified backup
        previous = (
            named if named in backups else max(backups, key=lambda p: p.stat().st_mtime_ns, default=None)
        )
        if previous is not None:
            os.replace(previous, target)
            leftovers.remove(previous)
    for path in leftovers:
        shutil.rmtree(path, ignore_errors=True)
    journal.unlink(missing_ok=True)


def _journal(target: Path) -> Path:
    return target.parent / f".{target.name}.swap"


@contextlib.contextmanager
def atomic_dir(target: Path, elsewhere: str) -> Iterator[Path]:
    """Yield a fresh temp directory; on success it replaces target whole, so readers never see a mix.

    The previous directory is renamed aside, the new one renamed in, the old one removed. A crash
    between the two renames leaves the old directory under a backup name; ``recover_dir`` restores it.
    A full disk or a read-only place raises ``OutputError`` (see ``writing``), with target untouched.
    """
    target = target.resolve()
    with writing(target, elsewhere), _swapped_in(target) as staging:
        yield staging


@contextlib.contextmanager
def _swapped_in(target: Path) -> Iterator[Path]:
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_dir(target)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.new-"))
    try:
        yield staging
        _fsync_tree(staging)
        for name in sorted(KEPT):
            if (target / name).exists() and not (staging / name).exists():
                shutil.copy2(target / name, staging / name)
        backup = target.parent / f".{target.name}.old-{os.getpid()}"
        if target.exists():
            atomic_write_text(_journal(target), backup.name)  # lets recover_dir find it if we die next
            os.replace(target, backup)
        os.replace(staging, target)
        _journal(target).unlink(missing_ok=True)
        shutil.rmtree(backup, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


# places this process holds, and whether exclusively: a command nested in another (``run`` validates
# through ``validate``) takes what it needs from here instead of locking against itself
_HELD: dict[Path, bool] = {}


@contextlib.contextmanager
def in_use(writes: Mapping[str, Path], reads: Mapping[str, Path] | None = None) -> Iterator[None]:
    """Hold the places for one command: writes exclusively, reads shared, or raise UsageError at once.

    Two audits writing the same directory at once would delete each other's staging directory (each
    run's ``recover_dir`` clears what looks left over), and a run replacing tables that another run is
    validating would give it a mix. The lock is ``flock`` on a ``.NAME.lock`` file beside each place,
    released when the process ends however it ends. Keys name the places for the message ("--tables");
    the places are distinct (callers refuse overlaps first: ``places.check_apart``).
    """
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
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        if exclusive:  # say why the place cannot be written, as writing into it would
            with writing(path, f"choose another {name}"):
                raise
        yield  # missing or read-only: the command says what is missing, or reads it as it is
        return
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
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
        os.close(fd)
