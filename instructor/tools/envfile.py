"""Read the pinned pip requirements out of ``environment.yml``.

``environment.yml`` is the one place where the course's versions are pinned. This
module turns its ``pip:`` list into a requirements file for ``pip install -r``. It
needs the standard library only, so the Makefile can run it as a plain script before
anything is installed: ``python instructor/tools/envfile.py environment.yml``.
"""

from __future__ import annotations

import sys
from pathlib import Path


def pip_requirements(text: str) -> list[str]:
    """Return the entries of the ``pip:`` list of a conda environment file.

    Args:
        text: the content of an ``environment.yml`` (conda's format).

    Returns:
        The requirement strings in file order, for example ``["keras==3.15.1", ...]``.

    Raises:
        ValueError: when the file has no ``pip:`` list.
    """
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    except StopIteration:
        raise ValueError("environment.yml has no '- pip:' list") from None
    indent = len(lines[start]) - len(lines[start].lstrip())
    requirements = []
    for line in lines[start + 1 :]:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if len(line) - len(line.lstrip()) <= indent or not stripped.startswith("- "):
            break
        requirements.append(stripped[2:].split(" #")[0].strip())
    return requirements


def conda_python(text: str) -> str | None:
    """Return the Python version pinned as ``python=X.Y`` in an environment file."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("- python="):
            return stripped.split("=", 1)[1]
    return None


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else "environment.yml")
    print("\n".join(pip_requirements(path.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
