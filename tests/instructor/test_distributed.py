"""Grading beyond one machine gives the same report as the local pool.

The tiny course of test_grade.py and a batch of its synthetic submissions (those
whose messages hold no measured figure: right, untouched, wrong, tampered, deleted
cells, reordered, exceptions, a dying kernel, invalid, foreign, another chapter) are
graded three ways, each submission in its bubblewrap sandbox:

- the local pool (``instructor.grade --workers 2``), keeping its verdict files;
- a Dask ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``, through
  its scheduler's address (``--scheduler tcp://...``);
- units run alone as a cluster's job runs them: the commands of the Slurm array
  script (``deploy/slurm-grade.sbatch``) and of the Kubernetes Indexed Job
  (``deploy/k8s-grade-job.yaml``), signed, then merged (``python -m instructor.merge``).

The CSVs must be identical, byte for byte; a forged verdict file is rejected.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_grade import LIMITS, build_submissions, checks_path, make_course

from instructor import grade, merge

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parents[2]
# Their messages name measured figures (memory, seconds) or they take long.
LEFT_OUT = ("_slow", "hang", "hog", "loop", "flood")
LIMIT_ARGS = ["--cell-timeout", str(LIMITS["cell_timeout"]),
              "--timeout", str(LIMITS["timeout"]),
              "--memory-mb", str(LIMITS["memory_mb"])]
KEY = b"the instructor's key for this test run"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The batch graded by the local pool and by Dask: their folders and CSVs."""
    from distributed import LocalCluster

    base = tmp_path_factory.mktemp("distributed")
    course = make_course(base / "course")
    subs = base / "subs"
    build_submissions(course, subs, base / "hang.pid")
    for name in LEFT_OUT:
        (subs / f"{name}.ipynb").unlink()
    shutil.rmtree(subs / ".ipynb_checkpoints")
    common = [str(subs), "--course", str(course), "--workers", "2", "--quiet",
              *LIMIT_ARGS]
    with pytest.MonkeyPatch.context() as patch:
        # Kernels, the units' judges and the Dask workers (spawned processes) all
        # import the tiny course's checks from there.
        patch.setenv("PYTHONPATH", str(checks_path(course)))
        patch.syspath_prepend(str(checks_path(course)))
        pool = grade.main([*common, "--out", str(base / "pool.csv"),
                           "--verdicts", str(base / "verdicts")])
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster:
            dask = grade.main([*common, "--out", str(base / "dask.csv"),
                               "--scheduler", cluster.scheduler_address])
    return {"base": base, "course": course, "subs": subs, "codes": (pool, dask),
            "pool": base / "pool.csv", "dask": base / "dask.csv"}


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_dask_gives_the_local_pools_report(runs):
    assert runs["codes"] == (0, 0)
    pool = runs["pool"].read_bytes()
    assert runs["dask"].read_bytes() == pool
    rows = read_rows(runs["pool"])
    statuses = {row["status"] for row in rows}
    # The batch covers every kind of verdict, a named mistake among them.
    assert {"passed", "failed", "error", "not attempted", "missing", "invalid",
            "unrecognised"} <= statuses
    assert "double/wrong" in {row["mistake"] for row in rows}
    assert (runs["base"] / "dask.html").stat().st_size < 2 * 2**20
    assert "Dask scheduler tcp://" in (runs["base"] / "dask.html").read_text()


def test_merging_the_pools_verdict_files_gives_the_same_report(runs):
    out = runs["base"] / "merged.csv"
    code = merge.main([str(runs["base"] / "verdicts"), "--out", str(out), "--course",
                       str(runs["course"]), "--submissions", str(runs["subs"]),
                       "--quiet"])
    assert code == 0
    assert out.read_bytes() == runs["pool"].read_bytes()


def job_environment(runs, **variables: str) -> dict[str, str]:
    """A task's environment: the venv's Python first, the tiny course's checks, the
    course and limits of the test (the recipes use the defaults)."""
    return {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "PYTHONPATH": str(checks_path(runs["course"])),
            "HOME": str(runs["base"]), **variables}


def slurm_task(runs, index: int, out: Path, key: Path) -> subprocess.CompletedProcess:
    """Array task ``index`` of deploy/slurm-grade.sbatch, run as Slurm would."""
    script = (ROOT / "deploy" / "slurm-grade.sbatch").read_text()
    extra = " ".join(["--course", str(runs["course"]), *LIMIT_ARGS])
    script = script.replace('${key:+--key-file "$key"}',
                            '${key:+--key-file "$key"} ' + extra)
    env = job_environment(runs, SLURM_ARRAY_TASK_ID=str(index),
                          SLURM_SUBMIT_DIR=str(ROOT))
    return subprocess.run(["bash", "-c", script, "sbatch", str(runs["subs"]),
                           str(out), str(key)], env=env, capture_output=True,
                          text=True, timeout=300)


def kubernetes_pod(
    runs, index: int, out: Path, key: Path
) -> subprocess.CompletedProcess:
    """Pod ``index`` of deploy/k8s-grade-job.yaml: its command, the volumes' paths
    replaced by the test's folders."""
    import yaml

    job = yaml.safe_load((ROOT / "deploy" / "k8s-grade-job.yaml").read_text())
    (container,) = job["spec"]["template"]["spec"]["containers"]
    command = container["args"][0]
    for volume, here in (("/data/submissions", runs["subs"]), ("/data/verdicts/",
                         f"{out}/"), ("/etc/grader-key/key", key)):
        assert volume in command
        command = command.replace(volume, str(here))
    command += " " + " ".join(["--course", str(runs["course"]), *LIMIT_ARGS])
    env = job_environment(runs, JOB_COMPLETION_INDEX=str(index))
    return subprocess.run([*container["command"], command], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_units_run_by_the_recipes_then_merged_match_and_a_forgery_is_rejected(runs):
    base = runs["base"]
    key, folder = base / "key", base / "job-verdicts"
    key.write_bytes(KEY)
    folder.mkdir()
    names = list(dict.fromkeys(row["submission"] for row in read_rows(runs["pool"])))
    picked = [names.index("wrong.ipynb"), names.index("correct.ipynb")]
    for index, task in zip(picked, (slurm_task, kubernetes_pod), strict=True):
        done = task(runs, index, folder, key)
        assert done.returncode == 0, done.stderr[-2000:]
    merged = base / "jobs.csv"
    # With --key-file, merge needs the submissions folder (a signed verdict of an
    # earlier version of a file is refused); the others have no verdict here.
    merging = [str(folder), "--out", str(merged), "--course", str(runs["course"]),
               "--key-file", str(key), "--submissions", str(runs["subs"]), "--quiet"]
    code = merge.main(merging)
    assert code == 1
    picked_names = ("wrong.ipynb", "correct.ipynb")
    expected = [row for row in read_rows(runs["pool"])
                if row["submission"] in picked_names]
    got = [row for row in read_rows(merged) if row["submission"] in picked_names]
    assert sorted(got, key=lambda r: (r["submission"], r["exercise"])) == sorted(
        expected, key=lambda r: (r["submission"], r["exercise"]))
    assert {row["status"] for row in read_rows(merged)
            if row["submission"] not in picked_names} == {"not graded"}

    # A student who could write to the folder turns a failure into a pass.
    path = folder / f"{names.index('wrong.ipynb'):05d}.json"
    record = json.loads(path.read_text())
    for row in record["rows"]:
        row.update(status="passed", mistake="")
    path.write_text(json.dumps(record))
    code = merge.main(merging)
    assert code == 1
    statuses = {row["submission"]: row["status"] for row in read_rows(merged)}
    assert statuses["wrong.ipynb"] == "not graded"
    assert statuses["correct.ipynb"] == "passed"
