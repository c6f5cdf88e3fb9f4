"""Generate everything that contains the repository's address from one place.

The address is ``[project.urls] Repository`` in ``pyproject.toml``. From it come:

- the badge table in ``README.md`` (between ``<!-- badges:start -->`` and
  ``<!-- badges:end -->``): each notebook opened in Colab and in Binder;
- the line ``COURSE_PACKAGE = "..."`` of each notebook's Colab install cell.

Usage::

    python -m instructor.tools.links          # rewrite README.md and notebooks/*.py
    python -m instructor.tools.links --check  # fail if one of them is stale
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import tomllib

BADGES_START = "<!-- badges:start -->"
BADGES_END = "<!-- badges:end -->"
PACKAGE_LINE = re.compile(r'^COURSE_PACKAGE = ".*"$', re.M)
BRANCH = "main"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"


def repository_url(root: Path) -> str:
    """The repository's address, from ``pyproject.toml``."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    return project["urls"]["Repository"].rstrip("/")


def github_slug(url: str) -> str:
    """``owner/name`` of a GitHub address."""
    match = re.fullmatch(r"https://github\.com/([^/]+/[^/]+?)(\.git)?", url)
    if not match:
        raise ValueError(f"expected https://github.com/OWNER/NAME, got {url!r}")
    return match.group(1)


def package_requirement(url: str) -> str:
    """The pip requirement that installs the course package from the repository."""
    return f"course-utils @ git+{url}@{BRANCH}"


def badge_table(root: Path, url: str) -> str:
    """The README's badge table: one row per notebook, student and solution versions."""
    slug = github_slug(url)
    rows = ["| Notebook | Student version | Solutions |", "|---|---|---|"]
    for source in sorted((root / "notebooks").glob("[0-9][0-9]_*.py")):
        title = source.stem.split("_", 1)[1].replace("_", " ")
        cells = []
        for path in (
            f"notebooks/student/{source.stem}.ipynb",
            f"notebooks/{source.stem}.ipynb",
        ):
            colab = (
                f"https://colab.research.google.com/github/{slug}/blob/{BRANCH}/{path}"
            )
            binder = (
                f"https://mybinder.org/v2/gh/{slug}/{BRANCH}?urlpath=lab/tree/{path}"
            )
            cells.append(
                f"[![Open in Colab]({COLAB_BADGE})]({colab}) "
                f"[![Open in Binder]({BINDER_BADGE})]({binder})"
            )
        rows.append(f"| {source.stem[:2]}: {title} | {cells[0]} | {cells[1]} |")
    return "\n".join(rows)


def updated_readme(text: str, table: str) -> str:
    """README text with the badge block replaced by ``table``."""
    start, end = text.find(BADGES_START), text.find(BADGES_END)
    if start < 0 or end < start:
        raise ValueError(f"README.md needs {BADGES_START} ... {BADGES_END}")
    return text[: start + len(BADGES_START)] + "\n" + table + "\n" + text[end:]


def updated_notebook(text: str, requirement: str) -> str:
    """A notebook source whose ``COURSE_PACKAGE`` line points at ``requirement``."""
    return PACKAGE_LINE.sub(lambda _: f'COURSE_PACKAGE = "{requirement}"', text)


def expected_files(root: Path) -> dict[Path, str]:
    """Every generated file and the text it should have."""
    url = repository_url(root)
    readme = root / "README.md"
    expected = {readme: updated_readme(readme.read_text(), badge_table(root, url))}
    for source in sorted((root / "notebooks").glob("[0-9][0-9]_*.py")):
        expected[source] = updated_notebook(
            source.read_text(), package_requirement(url)
        )
    return expected


def stale_files(root: Path) -> list[Path]:
    """Files whose generated parts are out of date."""
    return [p for p, text in expected_files(root).items() if p.read_text() != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.root)
        for path in stale:
            print(f"{path}: repository links are out of date: run `make sync`")
        return 1 if stale else 0
    for path, text in expected_files(args.root).items():
        if path.read_text() != text:
            path.write_text(text)
            print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
