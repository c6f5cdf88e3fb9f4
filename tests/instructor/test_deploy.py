"""The deploy recipes (``deploy/``) and what keeps keys and students' work out of git
and out of the grader's image (``.gitignore``, ``.dockerignore``).

Nothing here runs a cluster: the Kubernetes manifests are checked for the settings the
sandbox needs and the security they keep, and against Kubernetes' API schema when the
``kubernetes-validate`` command is installed (it ships the schemas; not in the course's
environment: ``pip install kubernetes-validate`` in a venv of its own and put it on
PATH, or name it in ``KUBERNETES_VALIDATE``); the Slurm script goes through ShellCheck
when it is installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
JOB = DEPLOY / "k8s-grade-job.yaml"
VOLUME = DEPLOY / "k8s-grading-volume.yaml"
SLURM = DEPLOY / "slurm-grade.sbatch"
README = (ROOT / "README.md").read_text(encoding="utf-8")
KUBERNETES = "1.33.0"  # the oldest version the README says the recipe needs


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def by_kind(kind: str) -> list[dict]:
    return [doc for path in (JOB, VOLUME) for doc in documents(path)
            if doc["kind"] == kind]


def pod_specs() -> list[dict]:
    return ([job["spec"]["template"]["spec"] for job in by_kind("Job")]
            + [pod["spec"] for pod in by_kind("Pod")])


def containers() -> list[dict]:
    return [container for spec in pod_specs()
            for container in spec.get("initContainers", []) + spec["containers"]]


# --- Kubernetes ---------------------------------------------------------------------


def test_the_grading_pod_lets_bwrap_mount_proc():
    (job,) = by_kind("Job")
    spec = job["spec"]["template"]["spec"]
    # procMount Unmasked is allowed only with a user namespace of the pod's own.
    assert spec["hostUsers"] is False
    (unit,) = spec["containers"]
    assert unit["securityContext"]["procMount"] == "Unmasked"
    assert unit["securityContext"]["seccompProfile"] == {"type": "Unconfined"}


def test_no_container_is_privileged_or_can_gain_privileges():
    found = containers()
    assert len(found) == 2  # the grading unit and the file pod
    for container in found:
        context = container["securityContext"]
        assert context.get("privileged", False) is False
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert "add" not in context["capabilities"]
    for spec in pod_specs():
        assert spec["automountServiceAccountToken"] is False
        assert spec.get("securityContext", {}).get("runAsNonRoot", True)
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(key, False)
        for volume in spec["volumes"]:
            assert "hostPath" not in volume


def test_every_container_has_cpu_and_memory_limits():
    for container in containers():
        limits = container["resources"]["limits"]
        requests = container["resources"]["requests"]
        assert {"cpu", "memory"} <= set(limits) and {"cpu", "memory"} <= set(requests)
    (job,) = by_kind("Job")
    (unit,) = job["spec"]["template"]["spec"]["containers"]
    # Room above the unit's memory cap (2048 MB) for the grader and its worker.
    assert unit["resources"]["limits"]["memory"] == "3Gi"


def test_the_volume_claim_is_the_one_the_job_mounts():
    (claim,) = by_kind("PersistentVolumeClaim")
    assert claim["metadata"]["name"] == "grading"
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]  # pods on many nodes
    assert claim["spec"]["resources"]["requests"]["storage"]
    for spec in pod_specs():
        claims = {volume["persistentVolumeClaim"]["claimName"]
                  for volume in spec["volumes"] if "persistentVolumeClaim" in volume}
        assert claims == {"grading"}
    (job,) = by_kind("Job")
    mounts = {mount["mountPath"]: mount for mount in
              job["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
    assert mounts["/data/submissions"]["readOnly"] is True
    assert mounts["/data/verdicts"]["subPath"] == "verdicts"
    assert mounts["/etc/grader-key"]["readOnly"] is True


def test_the_job_ends_when_an_index_fails_and_stops_on_misuse():
    (job,) = by_kind("Job")
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed" and spec["completions"] == 30
    assert spec["backoffLimitPerIndex"] >= 1
    rules = spec["podFailurePolicy"]["rules"]
    assert {"action": "FailJob",
            "onExitCodes": {"containerName": "unit", "operator": "In",
                            "values": [2]}} in rules
    assert spec["template"]["spec"]["restartPolicy"] == "Never"


def test_the_readme_recipe_waits_for_failure_too_and_copies_the_verdicts_out():
    start = README.index("**Kubernetes**: `deploy/k8s-grade-job.yaml`")
    recipe = README[start:README.index("**Slurm**", start)]
    assert "completions: 30" in JOB.read_text()  # what the recipe's sed replaces
    assert "--for=condition=complete" not in recipe
    assert "Complete|Failed" in recipe
    assert "kubectl apply -f deploy/k8s-grading-volume.yaml" in recipe
    assert "kubectl cp submissions grading-files:/data/submissions" in recipe
    assert "kubectl cp grading-files:/data/verdicts verdicts" in recipe
    assert "Kubernetes\n1.33 or later" in recipe or "Kubernetes 1.33 or later" in recipe
    assert "not been run on a real cluster" in recipe
    assert "1.33" in JOB.read_text()


def kubernetes_validate() -> str | None:
    return os.environ.get("KUBERNETES_VALIDATE") or shutil.which("kubernetes-validate")


@pytest.mark.skipif(not kubernetes_validate(),
                    reason="kubernetes-validate is not installed")
def test_the_manifests_follow_the_kubernetes_schema_of_the_stated_version():
    done = subprocess.run(
        [kubernetes_validate(), "--strict", "--kubernetes-version", KUBERNETES,
         str(JOB), str(VOLUME)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "did not validate" not in done.stdout + done.stderr


# --- Slurm --------------------------------------------------------------------------


@pytest.mark.skipif(not shutil.which("shellcheck"), reason="shellcheck not installed")
def test_the_slurm_script_passes_shellcheck():
    done = subprocess.run(["shellcheck", "--shell=bash", str(SLURM)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_slurm_script_runs_the_unit_of_its_array_task():
    text = SLURM.read_text()
    assert text.startswith("#!/bin/bash\n")
    assert "set -euo pipefail" in text
    assert '--index "$index"' in text and "SLURM_ARRAY_TASK_ID" in text
    assert re.search(r"^#SBATCH --mem=\S+", text, re.MULTILINE)


# --- what stays out of git and out of the image -------------------------------------

# (path, why): each must be ignored by .gitignore and excluded by .dockerignore.
PRIVATE = [
    "grader.key", "key.key", "deploy/grader.key", "somewhere/else/x.key",
    "submissions/alice/01.ipynb", "verdicts/00017.json", "report.csv", "report.html",
    "grades.csv", ".venv/bin/python", ".venv-colab/bin/python", "test-artifacts/a.png",
    "benchmarks/.venv-sb3/bin/python",
]


def test_gitignore_covers_keys_students_work_and_environments():
    if not shutil.which("git") or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    done = subprocess.run(
        ["git", "-c", "core.excludesFile=/dev/null", "check-ignore", "--no-index",
         "--verbose", "--non-matching", *PRIVATE],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    not_ignored = [line.split("\t")[-1] for line in done.stdout.splitlines()
                   if line.startswith("::")]
    assert not not_ignored, f".gitignore does not cover {not_ignored}"


def docker_patterns() -> list[tuple[bool, re.Pattern]]:
    """.dockerignore's rules as (exclude?, regex), in order (Docker's syntax: ``*``
    and ``?`` within a path element, ``**`` across any number of them, ``!`` to
    re-include; a pattern also excludes everything under what it matches)."""
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip("/"))
        regex = ""
        for part in re.split(r"(\*\*/|\*\*|\*|\?)", pattern):
            regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*",
                      "?": "[^/]"}.get(part, re.escape(part))
        rules.append((exclude, re.compile(regex + "(?:/.*)?")))
    return rules


def docker_excludes(path: str) -> bool:
    excluded = False
    for exclude, regex in docker_patterns():
        if regex.fullmatch(path):
            excluded = exclude
    return excluded


def test_dockerignore_keeps_keys_students_work_and_environments_out_of_the_image():
    included = [path for path in PRIVATE if not docker_excludes(path)]
    assert not included, f".dockerignore lets {included} into the image"


def test_dockerignore_keeps_what_the_image_needs():
    for path in ("course_utils/__init__.py", "instructor/grade.py", "Makefile",
                 "pyproject.toml", "environment.yml", "notebooks", "README.md",
                 "deploy/k8s-grade-job.yaml", ".git/HEAD"):
        assert not docker_excludes(path), path
