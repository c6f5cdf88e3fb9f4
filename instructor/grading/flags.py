"""Flags for the instructor: code in a submission that reaches where no answer needs to.

A flag never changes a verdict (the grader's judge decides those from the outputs
the student's code produced). It points the instructor at code worth reading:

- ``reference-call``: uses the course's reference functions (``reference_*`` of a
  checks module): an answer computed by the course, not by the student;
- ``check-internals``: reaches into the checks' machinery: private names of a checks
  module, its ``Check`` objects, ``course_utils.checks.core`` / ``.plain``,
  ``course_utils.contract``, the probe's MIME type (forging the check's data);
- ``monkeypatch``: changes modules: assignment to a module's attribute
  (``np.allclose = ...``, ``checks.check_x = ...``), ``setattr`` on a module,
  ``builtins``, ``sys.modules``, ``unittest.mock``, ``ctypes``;
- ``ipython-hooks``: input or AST transformers, ``get_ipython().events``, explicit
  ``run_line_magic`` / ``run_cell_magic``, the kernel object, ``%load_ext``,
  ``%run``, ``%config``;
- ``outside-files``: paths outside the working folder: absolute paths or ``..`` in
  ``open()``, ``Path()``, ``os.*``, ``shutil.*``..., any ``/proc``, ``/etc``, home
  folder, ``site-packages`` or module ``__file__`` path;
- ``processes``: processes that could outlive the notebook or signal others
  (``fork``, ``setsid``, ``kill``, ``exec*``, ``nohup``, ``start_new_session``...);
- ``dynamic-code``: ``exec``/``eval``/``compile`` of text that is not written out in
  the cell (text that is written out is scanned like the cell itself);
- ``unscanned``: a code cell longer than ``MAX_SCAN`` characters, or nested too
  deeply for Python's parser: not scanned (read it yourself).

The scan is static: ``ast`` on each code cell (IPython's ``%``/``!`` lines read
apart), falling back to a text search when a cell does not parse. Code built at run
time from pieces escapes any static scan; the sandbox and the judge do not depend on
flags, which only help the instructor read. Its cost is linear in the cells' length
(issue 21): every pattern below is anchored or has no two quantifiers that can
share characters, and a cell over ``MAX_SCAN`` characters is not read at all.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
from collections.abc import Iterable

REFERENCE = "reference-call"
INTERNALS = "check-internals"
MONKEYPATCH = "monkeypatch"
IPYTHON = "ipython-hooks"
FILES = "outside-files"
PROCESSES = "processes"
DYNAMIC = "dynamic-code"
UNSCANNED = "unscanned"
ORDER = (REFERENCE, INTERNALS, MONKEYPATCH, IPYTHON, FILES, PROCESSES, DYNAMIC,
         UNSCANNED)
# Flags set outside the static scan, named here with the others: the code is the
# published solution (copying.py), the name looks like another's (report.py).
COPIED = "copied-solution"
LOOKALIKE = "look-alike-name"
# A code cell longer than MAX_SCAN characters is not scanned, nor are the cells after
# the first MAX_SCAN_TOTAL characters of code: each is flagged instead. Python's ast
# of 100,000 characters takes 0.2-0.7 s (more than linear beyond: the garbage
# collector walks the growing tree); the course's longest cell holds about 3,000.
MAX_SCAN = 100_000
MAX_SCAN_TOTAL = 1_000_000

CHECKS = "course_utils.checks"
PRIVATE_MODULES = ("course_utils.checks.core", "course_utils.checks.plain",
                   "course_utils.contract")
# Public names of a checks module besides its check_* functions that the course's
# notebooks call (chapter 01 vets the student's networks before training them).
ALLOWED_ON_CHECKS = frozenset({"CheckFailed", "vet_networks"})
REFERENCE_PREFIXES = ("reference",)
PROBE_MIME_TEXT = "vnd.course-probe"
SHELL = "IPYTHON"  # what get_ipython() stands for in resolved names
# Names a notebook may use without importing them in a cell the scan sees.
CONVENTIONAL = {"np": "numpy", "tf": "tensorflow", "cu": "course_utils",
                "plt": "matplotlib.pyplot", "keras": "keras"}

IPYTHON_ATTRIBUTES = frozenset({
    "input_transformers_cleanup", "input_transformers_post",
    "input_transformer_manager", "ast_transformers", "events", "set_hook",
    "register_magic_function", "register_magics", "magics_manager",
    "prefilter_manager", "run_line_magic", "run_cell_magic", "run_cell", "run_code",
    "ex", "ev", "extension_manager", "set_custom_exc", "kernel", "display_pub",
    "displayhook", "user_ns", "user_global_ns", "compile",
})
IPYTHON_MODULES = ("IPython.core.inputtransformer", "IPython.core.inputtransformer2",
                   "IPython.core.events", "ipykernel", "jupyter_client", "zmq",
                   "comm")
HOOK_MAGICS = frozenset({"load_ext", "reload_ext", "unload_ext", "run", "load",
                         "config", "alias_magic", "autocall", "automagic"})
SHELL_GETTERS = frozenset({"get_ipython", "IPython.get_ipython",
                           "IPython.core.getipython.get_ipython"})

FILE_MODULES = ("os", "shutil", "glob", "pathlib", "io", "tarfile", "zipfile",
                "sqlite3", "subprocess", "tempfile", "fileinput", "linecache")
FILE_FUNCTIONS = frozenset({
    "open", "Path", "PurePath", "PosixPath", "numpy.load", "numpy.save",
    "numpy.loadtxt", "numpy.savetxt", "numpy.genfromtxt", "numpy.fromfile",
    "numpy.memmap", "numpy.savez", "numpy.savez_compressed", "exec",
})
LOCATORS = frozenset({
    "pathlib.Path.home", "os.path.expanduser", "os.path.expandvars",
    "site.getsitepackages", "site.getusersitepackages", "site.USER_SITE",
    "site.USER_BASE", "sysconfig.get_paths", "sysconfig.get_path", "sys.prefix",
    "sys.base_prefix", "sys.exec_prefix",
    "IPython.paths.get_ipython_dir", "IPython.utils.path.get_ipython_dir",
    "inspect.getfile", "inspect.getsourcefile", "importlib.resources",
    "pkgutil.get_data", "Path.home", "tempfile.gettempdir", "tempfile.gettempdirb",
})
SYSTEM_PATH = re.compile(
    r"^(/(proc|etc|sys|root|home|dev|tmp|var|usr|opt|boot|run|mnt|srv|lib|lib64|bin|"
    r"sbin|media|snap|work)(/|$)|~\w*(/|$))"
)
# A relative path that climbs out of its folder, wherever it is written.
CLIMBING = re.compile(r"(^|[/\\])\.\.[/\\]|[/\\]\.\.$")
OUTSIDE_PATH = re.compile(r"^(/|~\w*(/|$)|[A-Za-z]:[\\/]|\\\\)|(^|[/\\])\.\.([/\\]|$)")
PROCESS_FUNCTIONS = frozenset({
    "os.fork", "os.forkpty", "os.setsid", "os.setpgrp", "os.setpgid", "os.kill",
    "os.killpg", "os.getppid", "os.posix_spawn", "os.posix_spawnp", "os.pidfd_open",
    "os.daemon", "signal.pthread_kill", "signal.pidfd_send_signal",
})
PROCESS_PREFIXES = ("os.exec", "os.spawn", "psutil", "multiprocessing", "daemon")
PROCESS_WORDS = re.compile(r"\b(nohup|setsid|disown|daemon\w*)\b|&\s*$")
PROCESS_KEYWORDS = frozenset({"start_new_session", "preexec_fn", "process_group"})
MODULE_MUTATORS = frozenset({"update", "setdefault", "pop", "popitem", "clear",
                             "__setitem__", "__delitem__"})
MAGIC_LINE = re.compile(r"^(\s*)(?:([\w.]+\s*=\s*))?([%!]{1,2})\s*([\w.-]*)(.*)$")
HELP_LINE = re.compile(r"^(\s*)[\w.]+\?{1,2}\s*$")

TEXT_RULES = (
    (REFERENCE, re.compile(r"\breference_\w+")),
    (INTERNALS, re.compile(
        r"checks\.(core|plain)\b|checks\s+import\s+[^\n]*\b(core|plain)\b|"
        r"course_utils\.contract|vnd\.course-probe|"
        r"\bchecks\._\w+|\b(emit_probe|emit_named|run_probe|judge_payload|find_check|"
        r"check_of|call_student)\b")),
    (MONKEYPATCH, re.compile(
        r"\bsetattr\s*\(|sys\.modules\s*(\[|\.(update|setdefault|pop))|__builtins__|"
        r"\bbuiltins\.\w+\s*=[^=]|\b(np|numpy|checks|cu|course_utils|tf|keras)"
        r"(\.\w+)+\s*=[^=]|mock\.patch|\bctypes\b")),
    (IPYTHON, re.compile(
        r"input_transformer|ast_transformers|\.events\b|set_hook|register_magic|"
        r"run_line_magic|run_cell_magic|%(re)?load_ext|%run\b|get_ipython\(\)\.kernel")),
    (FILES, re.compile(
        r"""(open|Path)\s*\(\s*[rbf]*['"](/|~|\.\.)|['"]/(proc|etc|sys|root|home|"""
        r"""dev|tmp)\b|expanduser|Path\.home|\.\./|getsitepackages|sys\.prefix|"""
        r"""__file__|get_ipython_dir""")),
    (PROCESSES, re.compile(
        r"\bos\.(fork|forkpty|setsid|setpgrp|setpgid|kill|killpg|getppid|exec\w*|"
        r"spawn\w*|posix_spawn\w*)\b|\bnohup\b|\bsetsid\b|start_new_session|"
        r"preexec_fn|\bpsutil\b")),
    (DYNAMIC, re.compile(r"\b(exec|eval|compile)\s*\(")),
)


@functools.lru_cache(maxsize=64)
def is_check_module(name: str) -> bool:
    """Whether ``course_utils.checks.<name>`` is a module of checks (not the core)."""
    if name.startswith("_") or f"{CHECKS}.{name}" in PRIVATE_MODULES:
        return False
    try:
        return importlib.util.find_spec(f"{CHECKS}.{name}") is not None
    except (ImportError, ValueError):
        return False


def flag_text(text: str) -> set[str]:
    """The flags a plain text search finds (for code that does not parse)."""
    return {flag for flag, pattern in TEXT_RULES if pattern.search(text)}


def split_magics(source: str) -> tuple[str, list[tuple[str, str, str]]]:
    """Python code of a cell with IPython's special lines set apart.

    Args:
        source: a code cell's source.

    Returns:
        ``(code, magics)``: the code with each ``%``/``!`` line replaced by
        ``pass`` (same indentation, so line numbers hold), and the
        ``(kind, name, rest)`` of each such line (``kind`` is ``%``, ``%%``, ``!``
        or ``!!``).
    """
    lines, magics = [], []
    for line in source.splitlines():
        found = MAGIC_LINE.match(line)
        if found is None:
            help_line = HELP_LINE.match(line)
            lines.append(f"{help_line.group(1)}pass" if help_line else line)
            continue
        indent, assigned, kind, name, rest = found.groups()
        magics.append((kind, name, rest))
        lines.append(f"{indent}{assigned or ''}{'None' if assigned else 'pass'}")
    return "\n".join(lines), magics


def flag_magics(magics: list[tuple[str, str, str]]) -> set[str]:
    """Flags of IPython's special lines: hook magics, and shell text searched."""
    found: set[str] = set()
    for kind, name, rest in magics:
        if kind.startswith("%") and name in HOOK_MAGICS:
            found.add(IPYTHON)
        text = f"{name} {rest}"
        if kind.startswith("!") or name in ("cd", "writefile", "bash", "sh",
                                             "script", "system", "sx"):
            if any(OUTSIDE_PATH.search(word) for word in text.split()):
                found.add(FILES)
            if PROCESS_WORDS.search(text):
                found.add(PROCESSES)
        found |= flag_text(text) - {DYNAMIC}
    return found


class Scanner(ast.NodeVisitor):
    """Walks one cell's syntax tree, with the names imported so far (shared)."""

    def __init__(self, aliases: dict[str, str]) -> None:
        self.aliases = aliases
        self.found: set[str] = set()

    # --- names: what a dotted expression stands for
    def resolve(self, node: ast.AST) -> str | None:
        """``numpy.allclose`` for ``np.allclose`` (imports applied), else None.

        Only expressions rooted at an imported name, ``get_ipython()``, an
        ``import_module("...")`` call or a builtin (``open``, ``exec``) resolve.
        """
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Call):
            root = self.call_root(node)
        elif isinstance(node, ast.Name):
            root = self.aliases.get(node.id)
            if root is None and node.id in ("open", "exec", "eval", "compile",
                                             "get_ipython", "__builtins__",
                                             "__file__", "setattr", "vars",
                                             "getattr", "delattr", "hasattr"):
                root = node.id
        else:
            root = None
        if root is None:
            return None
        return ".".join([root, *reversed(parts)])

    def call_root(self, call: ast.Call) -> str | None:
        """What a call's result stands for: the shell, or an imported module."""
        function = self.resolve(call.func)
        if function in SHELL_GETTERS:
            return SHELL
        if function in ("importlib.import_module", "__import__") and call.args:
            first = call.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                return first.value
        return None

    # --- classification of a resolved name
    def classify(self, dotted: str) -> None:
        """Add the flags a resolved name calls for."""
        parts = dotted.split(".")
        if dotted.startswith(PRIVATE_MODULES):
            self.found.add(INTERNALS)
        elif dotted.startswith(CHECKS + ".") and len(parts) >= 3:
            self.classify_checks(parts[2:])
        if parts[0] == SHELL and len(parts) > 1 and parts[1] in IPYTHON_ATTRIBUTES:
            self.found.add(IPYTHON)
        if dotted.startswith(IPYTHON_MODULES):
            self.found.add(IPYTHON)
        if dotted.startswith(("unittest.mock", "mock.")) or parts[0] in (
            "ctypes", "__builtins__", "mock"
        ):
            self.found.add(MONKEYPATCH)
        if dotted in LOCATORS or dotted.endswith(".__file__") or dotted == "__file__":
            self.found.add(FILES)
        if dotted in PROCESS_FUNCTIONS or dotted.startswith(PROCESS_PREFIXES):
            self.found.add(PROCESSES)

    def classify_checks(self, rest: list[str]) -> None:
        """Names below ``course_utils.checks``: only ``<module>.check_*`` is public."""
        module, names = rest[0], rest[1:]
        if module in ALLOWED_ON_CHECKS:
            return
        if not is_check_module(module):  # the framework's names, private ones
            self.found.add(INTERNALS)
            return
        if not names:
            return
        name = names[0]
        if name.startswith(REFERENCE_PREFIXES):
            self.found.add(REFERENCE)
        elif not (name.startswith("check_") or name in ALLOWED_ON_CHECKS):
            self.found.add(INTERNALS)

    # --- visitors
    def visit_Import(self, node: ast.Import) -> None:
        for name in node.names:
            if name.asname:
                self.aliases[name.asname] = name.name
            else:
                head = name.name.split(".")[0]
                self.aliases[head] = head
            self.classify(name.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            return
        for name in node.names:
            dotted = f"{node.module}.{name.name}"
            self.aliases[name.asname or name.name] = dotted
            self.classify(dotted if name.name != "*" else node.module)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self.assigned(target)
        # x = get_ipython(), m = importlib.import_module("..."): x stands for it.
        if (len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, (ast.Call, ast.Attribute, ast.Name))):
            resolved = self.resolve(node.value)
            if resolved is not None:
                self.aliases[node.targets[0].id] = resolved
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.assigned(node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.assigned(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self.assigned(target)
        self.generic_visit(node)

    def assigned(self, target: ast.AST) -> None:
        """A write: into a module's attribute, ``sys.modules`` or a ``__dict__``."""
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.assigned(element)
        elif isinstance(target, ast.Attribute):
            if self.resolve(target.value) is not None:
                self.found.add(MONKEYPATCH)
        elif isinstance(target, ast.Subscript) and self.is_namespace(target.value):
            self.found.add(MONKEYPATCH)

    def is_namespace(self, node: ast.AST) -> bool:
        """Whether an expression is a module's namespace (writing to it patches)."""
        if isinstance(node, ast.Call) and self.resolve(node.func) == "vars":
            return bool(node.args) and self.resolve(node.args[0]) is not None
        dotted = self.resolve(node)
        return dotted is not None and (
            dotted in ("sys.modules", "__builtins__", "builtins.__dict__")
            or dotted.endswith(".__dict__")
        )

    def visit_Attribute(self, node: ast.Attribute) -> None:
        dotted = self.resolve(node)
        if dotted is not None:
            self.classify(dotted)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        dotted = self.resolve(node)
        if dotted is not None and dotted != node.id or node.id in (
            "__builtins__", "__file__"
        ):
            self.classify(dotted or node.id)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            if PROBE_MIME_TEXT in node.value or node.value.startswith(
                PRIVATE_MODULES
            ):
                self.found.add(INTERNALS)
            if SYSTEM_PATH.match(node.value) or CLIMBING.search(node.value):
                self.found.add(FILES)

    def visit_Call(self, node: ast.Call) -> None:
        function = self.resolve(node.func)
        if function is not None:
            self.classify(function)
            self.called(function, node)
        elif isinstance(node.func, ast.Attribute) and node.func.attr in MODULE_MUTATORS:
            if self.is_namespace(node.func.value):
                self.found.add(MONKEYPATCH)
        self.generic_visit(node)

    def called(self, function: str, node: ast.Call) -> None:
        """Flags of a call to a resolved function: its name and its arguments."""
        if function in ("setattr", "delattr") and node.args:
            target = node.args[0]
            if self.resolve(target) is not None or self.is_namespace(target):
                self.found.add(MONKEYPATCH)
        if function in ("getattr", "setattr", "delattr", "hasattr") and len(
            node.args
        ) >= 2:
            name = node.args[1]
            base = self.resolve(node.args[0])
            if base is not None and isinstance(name, ast.Constant):
                self.classify(f"{base}.{name.value}")
        if function.endswith(".__dict__.update") or function in (
            "sys.modules.update", "sys.modules.setdefault", "sys.modules.pop"
        ):
            self.found.add(MONKEYPATCH)
        if function in ("exec", "eval", "compile", "builtins.exec", "builtins.eval"):
            self.dynamic(node)
        if function in (f"{SHELL}.run_line_magic", f"{SHELL}.run_cell_magic"):
            self.found.add(IPYTHON)
        touches_files = function in FILE_FUNCTIONS or function.startswith(
            tuple(f"{module}." for module in FILE_MODULES)
        ) or function.startswith("pandas.read_")
        if touches_files and any(
            OUTSIDE_PATH.search(text) for text in strings_in(node)
        ):
            self.found.add(FILES)
        if function.startswith(("subprocess.", "os.system", "os.popen")):
            keywords = {keyword.arg for keyword in node.keywords}
            if keywords & PROCESS_KEYWORDS or any(
                PROCESS_WORDS.search(text) for text in strings_in(node)
            ):
                self.found.add(PROCESSES)

    def dynamic(self, node: ast.Call) -> None:
        """Scan the text given to ``exec``/``eval`` when written out; else flag it."""
        first = node.args[0] if node.args else None
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            self.found |= scan_cell(first.value, self.aliases)
        else:
            self.found.add(DYNAMIC)


def strings_in(node: ast.AST) -> list[str]:
    """Every string constant in an expression (arguments, f-string parts...)."""
    return [
        child.value for child in ast.walk(node)
        if isinstance(child, ast.Constant) and isinstance(child.value, str)
    ]


def scan_cell(source: str, aliases: dict[str, str]) -> set[str]:
    """The flags of one code cell; ``aliases`` carries imports from cell to cell."""
    if len(source) > MAX_SCAN:
        return {UNSCANNED}
    if source.lstrip().startswith("%%"):  # a cell magic: its body is not Python
        head, _, body = source.lstrip().partition("\n")
        _, magics = split_magics(head)
        return flag_magics(magics) | flag_magics([("!", "", body)])
    code, magics = split_magics(source)
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):  # ValueError: a null byte in the source
        return flag_text(source) | flag_magics(magics)
    except (RecursionError, MemoryError):  # nested beyond the parser's limits
        return flag_text(source) | flag_magics(magics) | {UNSCANNED}
    scanner = Scanner(aliases)
    try:
        scanner.visit(tree)
    except RecursionError:  # a tree deeper than the visitor's recursion allows
        return scanner.found | flag_text(source) | flag_magics(magics) | {UNSCANNED}
    return scanner.found | flag_magics(magics)


def scan(sources: Iterable[str]) -> tuple[str, ...]:
    """The flags of a notebook's code cells, in a fixed order.

    Args:
        sources: the code cells' sources, in notebook order.

    Returns:
        Flag words (see the module's docstring), each at most once.
    """
    aliases = dict(CONVENTIONAL)
    found: set[str] = set()
    budget = MAX_SCAN_TOTAL
    for source in sources:
        budget -= len(source)
        found |= scan_cell(source, aliases) if budget >= 0 else {UNSCANNED}
    return tuple(flag for flag in ORDER if flag in found)


def notebook_flags(cells) -> str:
    """The ``;``-joined flags of a notebook's code cells ("" when none)."""
    sources = []
    for cell in cells:
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            sources.append("".join(source) if isinstance(source, list) else str(source))
    return ";".join(scan(sources))
