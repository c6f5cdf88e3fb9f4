"""Slimming the students' environment (instructor/tools/slim_env.py) on fake prefixes.

A fake ``strip`` (a Python script that writes the library again without its symbol
table, and logs its calls) keeps these tests fast and hermetic; one test runs the
real binutils ``strip`` on a library compiled here, when gcc and strip are there.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from instructor.tools import slim_env

SITE = "lib/python3.11/site-packages"
SECTION_TYPES_STRIPPED = (0, 1, 3)  # NULL, PROGBITS, STRTAB: no SYMTAB (2)


def elf(section_types=(0, 1, 2, 3), *, wide=True, order="<", padding=4096) -> bytes:
    """A minimal ELF file whose section headers have the given types."""
    ident = b"\x7fELF" + bytes([2 if wide else 1, 1 if order == "<" else 2, 1])
    ident += bytes(16 - len(ident))
    body = bytes(padding)
    header_size, entry_size = (64, 64) if wide else (52, 40)
    shoff = header_size + len(body)
    if wide:
        header = struct.pack(order + "HHIQQQIHHHHHH", 3, 62, 1, 0, 0, shoff, 0,
                             header_size, 0, 0, entry_size, len(section_types), 0)
    else:
        header = struct.pack(order + "HHIIIIIHHHHHH", 3, 3, 1, 0, 0, shoff, 0,
                             header_size, 0, 0, entry_size, len(section_types), 0)
    sections = b"".join(struct.pack(order + "II", 0, kind) + bytes(entry_size - 8)
                        for kind in section_types)
    return ident + header + body + sections


FAKE_STRIP = """#!{python}
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_slim_env import elf, SECTION_TYPES_STRIPPED
with open({calls!r}, "a") as log:
    log.write(sys.argv[-1] + "\\n")
if {fail}:
    sys.exit("strip: bad file")
assert sys.argv[1:3] == ["--strip-unneeded", "-o"], sys.argv
Path(sys.argv[3]).write_bytes(elf(SECTION_TYPES_STRIPPED, padding=0))
"""


@pytest.fixture
def fake_strip(tmp_path):
    """Path of a fake strip, and a function returning the files it was run on."""
    calls = tmp_path / "strip-calls.txt"

    def make(fail=False):
        program = tmp_path / ("strip-failing" if fail else "strip")
        program.write_text(FAKE_STRIP.format(
            python=sys.executable, tests=str(Path(__file__).parent),
            calls=str(calls), fail=fail))
        program.chmod(0o755)
        return str(program)

    def called():
        return calls.read_text().split() if calls.exists() else []

    return make, called


def make_env(root: Path, kind="venv") -> Path:
    """A fake environment: TensorFlow's headers and libraries, numpy's vendored
    OpenBLAS, a library already stripped."""
    root.mkdir(parents=True)
    if kind == "venv":
        (root / "pyvenv.cfg").write_text("home = /usr/bin\n")
    else:
        (root / "conda-meta").mkdir()
    site = root / SITE
    files = {
        "tensorflow/include/tensorflow/core/tensor.h": b"// header\n",
        "tensorflow/include/third_party/eigen/Core": b"// header\n",
        "tensorflow/libtensorflow_cc.so.2": elf(),
        "tensorflow/python/_pywrap_tfe.so": elf(),
        "tensorflow/python/already_stripped.so": elf(SECTION_TYPES_STRIPPED),
        "tensorflow/python/ops.py": b"x = 1\n",
        "numpy.libs/libscipy_openblas64_.so": elf(),
        "numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so": elf(),
    }
    for name, content in files.items():
        path = site / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    (site / "tensorflow/libtensorflow_cc.so.2").chmod(0o755)
    return root


def test_removes_the_headers_and_strips_tensorflows_libraries_only(tmp_path,
                                                                   fake_strip):
    make, called = fake_strip
    env = make_env(tmp_path / "env")
    site = env / SITE
    numpy_before = {p: p.read_bytes() for p in site.rglob("*.so") if "numpy" in str(p)}
    messages = []
    summary = slim_env.slim(env, strip=make(), log=messages.append)

    assert not (site / "tensorflow/include").exists()
    assert summary.removed == [site.resolve() / "tensorflow/include"]
    stripped = sorted(p.name for p in summary.stripped)
    assert stripped == ["_pywrap_tfe.so", "libtensorflow_cc.so.2"]
    assert sorted(Path(p).name for p in called()) == stripped
    library = site / "tensorflow/libtensorflow_cc.so.2"
    assert not slim_env.has_symbol_table(library)
    assert library.stat().st_mode & 0o777 == 0o755, "the file's mode is kept"
    # numpy's libraries are never stripped (strip breaks auditwheel's patchelf work).
    assert {p: p.read_bytes() for p in numpy_before} == numpy_before
    assert (site / "tensorflow/python/ops.py").read_text() == "x = 1\n"
    assert summary.saved_bytes > 0 and "MiB saved" in messages[-1]
    assert not list(site.rglob("*.slim-tmp")), "no temporary file left"


def test_a_second_run_finds_nothing_to_do(tmp_path, fake_strip):
    make, called = fake_strip
    env = make_env(tmp_path / "env")
    slim_env.slim(env, strip=make(), log=lambda message: None)
    calls = len(called())
    again = slim_env.slim(env, strip=make(), log=lambda message: None)
    assert (again.removed, again.stripped, again.saved_bytes) == ([], [], 0)
    assert len(called()) == calls, "an already stripped library is not stripped again"


def test_a_dry_run_changes_nothing(tmp_path, fake_strip):
    make, called = fake_strip
    env = make_env(tmp_path / "env")
    before = sorted((str(p), p.read_bytes()) for p in env.rglob("*") if p.is_file())
    summary = slim_env.slim(env, strip=make(), dry_run=True, log=lambda m: None)
    after = sorted((str(p), p.read_bytes()) for p in env.rglob("*") if p.is_file())
    assert after == before and not called()
    assert len(summary.removed) == 1 and len(summary.stripped) == 2


def test_a_conda_environment_is_accepted(tmp_path, fake_strip):
    make, _ = fake_strip
    env = make_env(tmp_path / "conda-env", kind="conda")
    assert len(slim_env.slim(env, strip=make(), log=lambda m: None).stripped) == 2


@pytest.mark.parametrize("case", ["missing", "plain folder", "file", "root",
                                  "no site-packages"])
def test_anything_but_an_environment_is_refused(tmp_path, case):
    target = {
        "missing": tmp_path / "nowhere",
        "plain folder": tmp_path,
        "file": tmp_path / "a-file",
        "root": Path("/"),
        "no site-packages": tmp_path / "empty-env",
    }[case]
    if case == "file":
        target.write_text("")
    if case == "no site-packages":
        target.mkdir()
        (target / "pyvenv.cfg").write_text("")
    with pytest.raises(slim_env.RefusedPrefix, match=re.escape(str(target))):
        slim_env.slim(target, strip=None, log=lambda m: None)


def test_the_command_line_refuses_with_a_message_and_status_2(tmp_path, capsys):
    assert slim_env.main([str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "refused" in error and "not a Python environment" in error


def test_links_out_of_the_prefix_and_hard_links_are_left_alone(tmp_path, fake_strip):
    make, called = fake_strip
    outside = tmp_path / "outside"
    (outside / "include").mkdir(parents=True)
    (outside / "include" / "keep.h").write_text("// keep\n")
    (outside / "libelsewhere.so").write_bytes(elf())
    env = make_env(tmp_path / "env")
    tensorflow = env / SITE / "tensorflow"
    shutil.rmtree(tensorflow / "include")
    (tensorflow / "include").symlink_to(outside / "include")
    (tensorflow / "libelsewhere.so").symlink_to(outside / "libelsewhere.so")
    shared = tensorflow / "python" / "_pywrap_tfe.so"
    os.link(shared, tmp_path / "package-cache-copy.so")  # like conda's pkgs/
    messages = []
    summary = slim_env.slim(env, strip=make(), log=messages.append)

    assert (outside / "include" / "keep.h").exists()
    assert (tensorflow / "include").is_symlink()
    assert slim_env.has_symbol_table(outside / "libelsewhere.so")
    assert slim_env.has_symbol_table(shared), "a hard-linked library is not stripped"
    assert [p.name for p in summary.stripped] == ["libtensorflow_cc.so.2"]
    assert [Path(p).name for p in called()] == ["libtensorflow_cc.so.2"]
    assert any("symbolic link" in m for m in messages)
    assert any("hard-linked" in m for m in messages)


def test_a_site_packages_reached_through_a_link_out_of_the_prefix_is_ignored(
        tmp_path):
    env = tmp_path / "env"
    env.mkdir()
    (env / "pyvenv.cfg").write_text("")
    elsewhere = tmp_path / "elsewhere" / "python3.11" / "site-packages"
    (elsewhere / "tensorflow" / "include").mkdir(parents=True)
    (env / "lib").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(slim_env.RefusedPrefix, match="no lib/python3"):
        slim_env.slim(env, strip=None, log=lambda m: None)
    assert (elsewhere / "tensorflow" / "include").is_dir()


def test_without_strip_it_removes_the_headers_and_says_so(tmp_path, monkeypatch):
    env = make_env(tmp_path / "env")
    monkeypatch.setenv("PATH", str(tmp_path / "no-binutils-here"))
    messages = []
    summary = slim_env.slim(env, log=messages.append)
    assert not (env / SITE / "tensorflow/include").exists()
    assert summary.stripped == []
    assert "strip (binutils) not found" in messages[0]
    assert slim_env.has_symbol_table(env / SITE / "tensorflow/libtensorflow_cc.so.2")


def test_a_failing_strip_leaves_the_library_as_it_was(tmp_path, fake_strip):
    make, _ = fake_strip
    env = make_env(tmp_path / "env")
    library = env / SITE / "tensorflow/libtensorflow_cc.so.2"
    before = library.read_bytes()
    summary = slim_env.slim(env, strip=make(fail=True), log=lambda m: None)
    assert library.read_bytes() == before and summary.stripped == []
    assert any("strip failed" in message for message in summary.skipped)
    assert not list(library.parent.glob("*.slim-tmp"))


@pytest.mark.parametrize("content, expected", [
    (elf(), True),
    (elf(SECTION_TYPES_STRIPPED), False),
    (elf(wide=False, order=">"), True),
    (elf(SECTION_TYPES_STRIPPED, wide=False), False),
    (b"#!/bin/sh\n", False),
    (elf()[:40], False),
])
def test_has_symbol_table_reads_the_section_headers(tmp_path, content, expected):
    path = tmp_path / "lib.so"
    path.write_bytes(content)
    assert slim_env.has_symbol_table(path) is expected


@pytest.mark.skipif(not (shutil.which("gcc") and shutil.which("strip")),
                    reason="needs gcc and binutils' strip")
def test_the_real_strip_keeps_a_library_loadable(tmp_path):
    env = make_env(tmp_path / "env")
    source = tmp_path / "answer.c"
    source.write_text("static int helper(void) { return 41; }\n"
                      "int answer(void) { return helper() + 1; }\n")
    library = env / SITE / "tensorflow" / "libanswer.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-g", "-o", str(library), str(source)],
                   check=True)
    assert slim_env.has_symbol_table(library)
    size = library.stat().st_size
    slim_env.slim(env, log=lambda m: None)
    assert not slim_env.has_symbol_table(library)
    assert library.stat().st_size < size
    assert ctypes.CDLL(str(library)).answer() == 42
