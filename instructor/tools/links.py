"""Generate everything that contains the repository's address from one place.

The address is the ``[repository]`` table of ``course.toml`` (``url``, ``branch``,
and optionally ``hub``, a JupyterHub's address, and ``package``, what the Colab cell
installs). From it come:

- the badge table in ``README.md`` (between ``<!-- badges:start -->`` and
  ``<!-- badges:end -->``): each notebook opened in Colab and in Binder, and on the
  hub through an nbgitpuller link when ``hub`` is set;
- the line ``COURSE_PACKAGE = "..."`` of each notebook's Colab install cell, in the
  ``.py`` sources, their ``.ipynb`` pairs and the student versions;
- ``Repository`` in ``pyproject.toml``'s ``[project.urls]``.

Usage::

    python -m instructor.tools.links          # rewrite every generated place
    python -m instructor.tools.links --check  # fail if one of them is stale
    python -m instructor.tools.links --repo owner/name [--branch main]
        [--hub https://hub.example.edu] [--package REQUIREMENT]
        # set course.toml's [repository], then rewrite (``make links REPO=...``)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from urllib.parse import quote, urlencode

import tomllib

SETTINGS = "course.toml"
BADGES_START = "<!-- badges:start -->"
BADGES_END = "<!-- badges:end -->"
PACKAGE_LINE = re.compile(r'^COURSE_PACKAGE = ".*"$', re.M)
# The same line inside an .ipynb's JSON (one string of a cell's source list).
IPYNB_PACKAGE_LINE = re.compile(r'"COURSE_PACKAGE = \\".*?\\"\\n"')
REPOSITORY_LINE = re.compile(r'^Repository = ".*"$', re.M)
BRANCH = "main"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"
SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+")
BRANCH_NAME = re.compile(r"[A-Za-z0-9._/-]+")
HUB = re.compile(r"https?://[^\s\"'<>]+")


def settings(root: Path) -> dict[str, str]:
    """``course.toml``'s ``[repository]``: url, branch, hub ("" for none), package
    ("" for the default: the package from the repository)."""
    table = tomllib.loads((root / SETTINGS).read_text(encoding="utf-8"))
    found = table.get("repository", {})
    return {
        "url": str(found["url"]).rstrip("/"),
        "branch": str(found.get("branch") or BRANCH),
        "hub": str(found.get("hub") or "").rstrip("/"),
        "package": str(found.get("package") or ""),
    }


def repository_url(root: Path) -> str:
    """The repository's address, from ``course.toml``."""
    return settings(root)["url"]


def github_slug(url: str) -> str:
    """``owner/name`` of a GitHub address."""
    match = re.fullmatch(r"https://github\.com/([^/]+/[^/]+?)(\.git)?", url)
    if not match:
        raise ValueError(f"expected https://github.com/OWNER/NAME, got {url!r}")
    return match.group(1)


def package_requirement(url: str, branch: str = BRANCH) -> str:
    """The pip requirement that installs the course package from the repository."""
    return f"course-utils @ git+{url}@{branch}"


def course_package(root: Path) -> str:
    """What the notebooks' Colab cell installs: ``package``, else the repository's."""
    found = settings(root)
    return found["package"] or package_requirement(found["url"], found["branch"])


def hub_link(hub: str, url: str, branch: str, path: str) -> str:
    """An nbgitpuller link: the hub clones (or updates) the repository into the
    user's folder named after it, then opens ``path`` in JupyterLab."""
    folder = url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    query = urlencode({"repo": url, "branch": branch,
                       "urlpath": f"lab/tree/{folder}/{path}"}, quote_via=quote)
    return f"{hub}/hub/user-redirect/git-pull?{query}"


def notebook_sources(root: Path) -> list[Path]:
    """The solution notebooks' ``.py`` sources."""
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.py"))


def badge_table(root: Path, url: str, branch: str = BRANCH, hub: str = "") -> str:
    """The README's badge table: one row per notebook, student and solution versions;
    with a hub, an nbgitpuller link beside the badges."""
    slug = github_slug(url)
    rows = ["| Notebook | Student version | Solutions |", "|---|---|---|"]
    for source in notebook_sources(root):
        title = source.stem.split("_", 1)[1].replace("_", " ")
        cells = []
        for path in (
            f"notebooks/student/{source.stem}.ipynb",
            f"notebooks/{source.stem}.ipynb",
        ):
            colab = (
                f"https://colab.research.google.com/github/{slug}/blob/{branch}/{path}"
            )
            binder = (
                f"https://mybinder.org/v2/gh/{slug}/{branch}?urlpath=lab/tree/{path}"
            )
            cell = (
                f"[![Open in Colab]({COLAB_BADGE})]({colab}) "
                f"[![Open in Binder]({BINDER_BADGE})]({binder})"
            )
            if hub:
                cell += f" [Open on the hub]({hub_link(hub, url, branch, path)})"
            cells.append(cell)
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


def updated_ipynb(text: str, requirement: str) -> str:
    """An ``.ipynb``'s JSON text whose ``COURSE_PACKAGE`` line points at
    ``requirement`` (the rest of the file byte for byte as it was)."""
    line = json.dumps(f'COURSE_PACKAGE = "{requirement}"\n', ensure_ascii=False)
    return IPYNB_PACKAGE_LINE.sub(lambda _: line, text)


def updated_pyproject(text: str, url: str) -> str:
    """``pyproject.toml`` whose ``Repository`` is ``url``."""
    return REPOSITORY_LINE.sub(lambda _: f'Repository = "{url}"', text)


def expected_files(root: Path) -> dict[Path, str]:
    """Every generated file and the text it should have."""
    found = settings(root)
    url, branch, hub = found["url"], found["branch"], found["hub"]
    requirement = course_package(root)
    readme = root / "README.md"
    expected = {
        readme: updated_readme(readme.read_text(encoding="utf-8"),
                               badge_table(root, url, branch, hub)),
        root / "pyproject.toml": updated_pyproject(
            (root / "pyproject.toml").read_text(encoding="utf-8"), url),
    }
    for source in notebook_sources(root):
        expected[source] = updated_notebook(source.read_text(encoding="utf-8"),
                                            requirement)
        for pair in (source.with_suffix(".ipynb"),
                     source.parent / "student" / f"{source.stem}.ipynb"):
            if pair.is_file():
                expected[pair] = updated_ipynb(pair.read_text(encoding="utf-8"),
                                               requirement)
    return expected


def stale_files(root: Path) -> list[Path]:
    """Files whose generated parts are out of date."""
    return [p for p, text in expected_files(root).items()
            if p.read_text(encoding="utf-8") != text]


def set_repository(root: Path, values: dict[str, str]) -> None:
    """Write values into ``course.toml``'s ``[repository]``, keeping its comments.

    Raises:
        ValueError: a value is malformed, or the table lacks one of the keys.
    """
    path = root / SETTINGS
    text = path.read_text(encoding="utf-8")
    start = text.find("\n[repository]")
    if start < 0:
        raise ValueError(f"{path} has no [repository] table")
    end = text.find("\n[", start + 1)
    end = len(text) if end < 0 else end
    section = text[start:end]
    for key, value in values.items():
        pattern = re.compile(rf'^{key} = ".*"$', re.M)
        if not pattern.search(section):
            raise ValueError(f'{path}: [repository] needs a line {key} = "..."')
        section = pattern.sub(lambda _, k=key, v=value: f"{k} = {json.dumps(v)}",
                              section)
    path.write_text(text[:start] + section + text[end:], encoding="utf-8")


def requested(args: argparse.Namespace) -> dict[str, str]:
    """The ``[repository]`` values given on the command line, checked."""
    values = {}
    if args.repo is not None:
        repo = args.repo.strip().rstrip("/")
        if repo.startswith("https://"):
            github_slug(repo)  # raises ValueError for another address
            values["url"] = repo.removesuffix(".git")
        elif SLUG.fullmatch(repo):
            values["url"] = f"https://github.com/{repo}"
        else:
            raise ValueError(f"--repo: expected OWNER/NAME, got {args.repo!r}")
    if args.branch is not None:
        if not BRANCH_NAME.fullmatch(args.branch):
            raise ValueError(f"--branch: not a branch name: {args.branch!r}")
        values["branch"] = args.branch
    if args.hub is not None:
        hub = "" if args.hub in ("", "none") else args.hub.rstrip("/")
        if hub and not HUB.fullmatch(hub):
            raise ValueError(f"--hub: expected https://HOST, got {args.hub!r}")
        values["hub"] = hub
    if args.package is not None:
        package = "" if args.package == "default" else args.package
        if '"' in package or "\\" in package or "\n" in package:
            raise ValueError("--package: no quote, backslash or line break")
        values["package"] = package
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--check", action="store_true", help="only report stale files")
    parser.add_argument("--repo", help="OWNER/NAME on GitHub (or its https address)")
    parser.add_argument("--branch", help="the branch the links open (main)")
    parser.add_argument("--hub", help="a JupyterHub's https address for nbgitpuller "
                        "links ('none' removes them)")
    parser.add_argument("--package", help="what the Colab cell installs ('default': "
                        "the course package from the repository)")
    args = parser.parse_args(argv)
    try:
        values = requested(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.check:
        stale = stale_files(args.root)
        for path in stale:
            print(f"{path}: repository links are out of date: run `make links`")
        return 1 if stale else 0
    if values:
        set_repository(args.root, values)
        print(f"updated {args.root / SETTINGS}")
    for path, text in expected_files(args.root).items():
        if path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
