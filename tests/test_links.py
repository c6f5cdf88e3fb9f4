"""The repository's address lives in one place, course.toml's [repository], and
every generated place agrees with it; `make links` moves them all to a fork."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jupytext
import nbformat
import pytest
import tomllib

from instructor.tools import links

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = links.settings(ROOT)
PACKAGE_IN_PY = re.compile(r'^COURSE_PACKAGE = "(.*)"$', re.M)


def generated_notebooks(root: Path) -> list[Path]:
    """Every notebook file that holds the Colab install cell."""
    found = []
    for source in links.notebook_sources(root):
        found += [source, source.with_suffix(".ipynb"),
                  source.parent / "student" / f"{source.stem}.ipynb"]
    return found


def package_lines(path: Path) -> list[str]:
    """The COURSE_PACKAGE values of a notebook file (.py or .ipynb)."""
    if path.suffix == ".py":
        return PACKAGE_IN_PY.findall(path.read_text(encoding="utf-8"))
    notebook = nbformat.read(path, as_version=4)
    return [value for cell in notebook.cells if cell.cell_type == "code"
            for value in PACKAGE_IN_PY.findall(cell.source)]


def badge_block(readme: str) -> tuple[str, str]:
    """(the generated badge block, the rest of the README)."""
    start, end = readme.index(links.BADGES_START), readme.index(links.BADGES_END)
    return readme[start:end], readme[:start] + readme[end:]


def test_every_generated_place_agrees_with_the_one_address():
    url, branch = SETTINGS["url"], SETTINGS["branch"]
    slug = links.github_slug(url)
    package = links.course_package(ROOT)
    assert package == (SETTINGS["package"] or
                       f"course-utils @ git+{url}@{branch}")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["urls"]["Repository"] == url, "pyproject.toml: run `make links`"
    for path in generated_notebooks(ROOT):
        assert path.is_file(), path
        assert package_lines(path) == [package], (
            f"{path.relative_to(ROOT)}: the Colab cell must install {package}: "
            "run `make links`")
    block, rest = badge_block((ROOT / "README.md").read_text(encoding="utf-8"))
    addresses = set(re.findall(r"google\.com/github/([\w.-]+/[\w.-]+)/blob/", block))
    addresses |= set(re.findall(r"mybinder\.org/v2/gh/([\w.-]+/[\w.-]+)/", block))
    assert addresses == {slug}, f"README badges point at {addresses}, not {slug}"
    assert f"/{branch}?urlpath=" in block and f"/blob/{branch}/" in block
    assert slug not in rest, (
        "README.md writes the repository's address outside the generated badge "
        "block: it would not follow a fork (`make links`)")
    assert links.stale_files(ROOT) == [], "run `make links`"


def test_no_other_tracked_file_writes_the_address():
    slug = links.github_slug(SETTINGS["url"])
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    generated = {p.relative_to(ROOT).as_posix() for p in links.expected_files(ROOT)}
    allowed = generated | {links.SETTINGS, "tests/test_links.py"}
    holders = []
    for name in tracked:
        path = ROOT / name
        if name in allowed or not path.is_file() or path.stat().st_size > 5_000_000:
            continue
        try:
            if slug in path.read_text(encoding="utf-8"):
                holders.append(name)
        except UnicodeDecodeError:
            continue
    assert not holders, (
        f"{holders} write the repository's address {slug}: generate it from "
        "course.toml (instructor/tools/links.py) instead")


@pytest.fixture
def copy(tmp_path) -> Path:
    """The files `make links` rewrites, copied into a folder of their own."""
    for name in ("README.md", "pyproject.toml", links.SETTINGS):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "notebooks" / "student").mkdir(parents=True)
    for path in generated_notebooks(ROOT):
        target = tmp_path / path.relative_to(ROOT)
        shutil.copy(path, target)
    return tmp_path


def test_make_links_moves_every_place_to_a_fork_and_a_hub(copy):
    old = links.github_slug(SETTINGS["url"])
    code = links.main(["--root", str(copy), "--repo", "someone/rl-fork", "--branch",
                       "spring-2027", "--hub", "https://hub.example.edu/"])
    assert code == 0
    found = links.settings(copy)
    assert found == {"url": "https://github.com/someone/rl-fork",
                     "branch": "spring-2027", "hub": "https://hub.example.edu",
                     "package": ""}
    assert "# Where the course lives" in (copy / "course.toml").read_text()  # kept
    package = "course-utils @ git+https://github.com/someone/rl-fork@spring-2027"
    for path in generated_notebooks(copy):
        assert package_lines(path) == [package], path
        assert old not in path.read_text(encoding="utf-8"), path
    # The rewritten pair still agrees (jupytext reads the same cells).
    for source in links.notebook_sources(copy):
        py = jupytext.read(source)
        ipynb = jupytext.read(source.with_suffix(".ipynb"))
        assert [c.source for c in py.cells] == [c.source for c in ipynb.cells]
        json.loads(source.with_suffix(".ipynb").read_text())  # still JSON
    project = tomllib.loads((copy / "pyproject.toml").read_text())["project"]
    assert project["urls"]["Repository"] == "https://github.com/someone/rl-fork"
    readme = (copy / "README.md").read_text(encoding="utf-8")
    block, rest = badge_block(readme)
    assert old not in block and "someone/rl-fork/blob/spring-2027/notebooks/" in block
    assert "mybinder.org/v2/gh/someone/rl-fork/spring-2027?urlpath=" in block
    hub = re.findall(r"\[Open on the hub\]\(([^)]+)\)", block)
    assert len(hub) == 2 * len(links.notebook_sources(copy))
    first = urlsplit(hub[0])
    assert (first.scheme, first.netloc, first.path) == (
        "https", "hub.example.edu", "/hub/user-redirect/git-pull")
    query = parse_qs(first.query)
    assert query == {
        "repo": ["https://github.com/someone/rl-fork"], "branch": ["spring-2027"],
        "urlpath": [
            "lab/tree/rl-fork/notebooks/student/01_actor_critic_cartpole.ipynb"],
    }
    assert links.main(["--root", str(copy), "--check"]) == 0
    assert links.stale_files(copy) == []


def test_a_private_fork_installs_a_package_from_elsewhere_and_drops_the_hub(copy):
    wheel = "https://example.org/wheels/course_utils-0.1.0-py3-none-any.whl"
    assert links.main(["--root", str(copy), "--repo", "school/private-course",
                       "--hub", "https://hub.example.edu"]) == 0
    assert links.main(["--root", str(copy), "--package", wheel, "--hub", "none"]) == 0
    assert links.settings(copy)["hub"] == "" and links.course_package(copy) == wheel
    for path in generated_notebooks(copy):
        assert package_lines(path) == [wheel], path
    block, _ = badge_block((copy / "README.md").read_text(encoding="utf-8"))
    assert "Open on the hub" not in block and "school/private-course" in block
    assert links.main(["--root", str(copy), "--package", "default"]) == 0
    assert links.course_package(copy) == (
        "course-utils @ git+https://github.com/school/private-course@main")


def test_a_stale_place_is_reported(copy, capsys):
    pyproject = copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        SETTINGS["url"], "https://github.com/elsewhere/x"))
    assert links.main(["--root", str(copy), "--check"]) == 1
    assert "pyproject.toml: repository links are out of date" in capsys.readouterr().out


@pytest.mark.parametrize("args", [
    ["--repo", "not a repository"], ["--repo", "https://gitlab.com/a/b"],
    ["--branch", "a b"], ["--hub", "javascript:alert(1)"],
    ["--hub", 'https://x" onclick="y'], ["--package", 'x"y'],
])
def test_malformed_values_are_refused_and_nothing_changes(copy, args, capsys):
    before = (copy / "course.toml").read_text()
    assert links.main(["--root", str(copy), *args]) == 2
    assert "error:" in capsys.readouterr().err
    assert (copy / "course.toml").read_text() == before


def test_make_links_passes_its_variables():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile[makefile.index("\nlinks:"):].split("\n\n")[0]
    for variable, option in (("REPO", "--repo"), ("BRANCH", "--branch"),
                             ("HUB", "--hub"), ("PACKAGE", "--package")):
        assert f"$(if $({variable}),{option} '$({variable})')" in recipe
    assert "instructor.tools.links" in makefile[makefile.index("\nsync:"):]
