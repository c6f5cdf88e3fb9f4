"""Install the course package into the Colab-like environment as Colab would.

Run with the Colab environment's Python (``make test-colab`` does it). For each solution
notebook, this runs the notebook's own Colab install cell, as if in Colab
(``google.colab`` is imported there), with one change: ``COURSE_PACKAGE`` points at
this checkout (``course-utils @ file:///...``) instead of the git URL, since the tests
run offline. Then it checks that the install left Colab's libraries alone: every
version pinned in ``colab-versions.txt`` must still be installed, and pygame-ce (which
clashes with Colab's pygame) must not have come in.

Standard library only. Exit status 0 when all is well, 1 otherwise, with a message
saying which version moved.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import types
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VERSIONS = HERE / "colab-versions.txt"
PACKAGE_LINE = re.compile(r'^COURSE_PACKAGE = "([^"@]+?)\s*@\s*[^"]*"$', re.M)
# Installed alongside Colab's pygame, it would break rendering.
FORBIDDEN = ("pygame-ce",)


def pinned_versions(path: Path = VERSIONS) -> dict[str, str]:
    """The ``name==version`` lines of the versions file.

    Returns:
        Normalised package name -> version.
    """
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            if not version:
                raise ValueError(f"{path.name}: pin an exact version (==): {line!r}")
            pins[normalise(name)] = version.strip()
    return pins


def normalise(name: str) -> str:
    """PEP 503 name normalisation (``Foo_Bar`` -> ``foo-bar``)."""
    return re.sub(r"[-_.]+", "-", name).lower().strip()


def colab_cells(root: Path = ROOT) -> dict[str, str]:
    """The Colab install cell of each solution notebook.

    Returns:
        Notebook file name -> the code cell that defines ``COURSE_PACKAGE``.

    Raises:
        SystemExit: a notebook has no such cell.
    """
    cells = {}
    for path in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        sources = [
            "".join(cell["source"])
            for cell in json.loads(path.read_text())["cells"]
            if cell["cell_type"] == "code"
        ]
        found = [source for source in sources if PACKAGE_LINE.search(source)]
        if not found:
            sys.exit(f"{path.name}: no Colab install cell (COURSE_PACKAGE = ...) found")
        cells[path.name] = found[0]
    return cells


def offline(cell: str, root: Path = ROOT) -> str:
    """The cell with ``COURSE_PACKAGE`` pointing at the local checkout."""
    return PACKAGE_LINE.sub(
        lambda m: f'COURSE_PACKAGE = "{m.group(1)} @ {root.as_uri()}"', cell
    )


def run_as_in_colab(cell: str) -> None:
    """Execute a Colab install cell with ``google.colab`` present in sys.modules."""
    google = types.ModuleType("google")
    colab = types.ModuleType("google.colab")
    google.colab = colab
    saved = {name: sys.modules.get(name) for name in ("google", "google.colab")}
    sys.modules.update({"google": google, "google.colab": colab})
    try:
        exec(compile(cell, "<Colab install cell>", "exec"), {"__name__": "__main__"})
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def version_problems(pins: dict[str, str]) -> list[str]:
    """Pinned packages whose installed version differs, and forbidden packages."""
    problems = []
    for name, wanted in pins.items():
        try:
            got = metadata.version(name)
        except metadata.PackageNotFoundError:
            got = "not installed"
        if got != wanted:
            problems.append(f"{name}: Colab has {wanted}, now {got}")
    for name in FORBIDDEN:
        try:
            problems.append(f"{name} {metadata.version(name)} got installed")
        except metadata.PackageNotFoundError:
            pass
    return problems


def main() -> int:
    """Install as the notebooks' Colab cells do, then check the versions."""
    pins = pinned_versions()
    subprocess.run(
        [sys.executable, "-m", "pip", "uninstall", "--quiet", "--yes", "course-utils"],
        check=False,
        capture_output=True,
    )
    for source in dict.fromkeys(colab_cells().values()):
        print(f"Colab install cell, run offline:\n{offline(source)}\n", flush=True)
        run_as_in_colab(offline(source))
    problems = version_problems(pins)
    if problems:
        print(
            "FAILED: installing the course package the Colab way changed Colab's "
            f"libraries ({VERSIONS.relative_to(ROOT)}):\n  " + "\n  ".join(problems),
            file=sys.stderr,
        )
        return 1
    print(
        f"course-utils {metadata.version('course-utils')} installed; Colab's versions "
        "unchanged: " + ", ".join(f"{n}=={v}" for n, v in pins.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
