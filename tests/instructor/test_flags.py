"""The report's flags: code that reaches where no answer needs to (no kernel).

Each rule is tried on small snippets that must raise it and on look-alikes that must
not; the course's own notebooks (solutions and student versions) must raise none.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from instructor.grading.flags import notebook_flags, scan

ROOT = Path(__file__).resolve().parents[2]
CHECKS = "from course_utils.checks import cartpole as checks\n"

FLAGGED = {
    # the course's reference functions
    CHECKS + "checks.reference_returns([1.0], 0.9)": "reference-call",
    "import course_utils as cu\ncu.checks.cartpole.reference_normalise([1])":
        "reference-call",
    "from course_utils.checks.pendulum import reference_soft_update as r":
        "reference-call",
    CHECKS + "getattr(checks, 'reference_returns')([1.0], 0.9)": "reference-call",
    # the checks' machinery
    CHECKS + "checks._loss_cases()": "check-internals",
    CHECKS + "checks.NORMALISE.judge(None)": "check-internals",
    "import course_utils.checks.core": "check-internals",
    "from course_utils.checks import core": "check-internals",
    "from course_utils.checks.core import emit_probe": "check-internals",
    "import course_utils\ncourse_utils.checks.passed('x')": "check-internals",
    "from course_utils.contract import PROBE_MIME": "check-internals",
    "import importlib\nimportlib.import_module('course_utils.checks.plain')":
        "check-internals",
    "display({'application/vnd.course-probe+json': '{}'}, raw=True)":
        "check-internals",
    # patching modules
    "np.allclose = lambda *a, **k: True": "monkeypatch",
    "import numpy\nnumpy.testing.assert_allclose = print": "monkeypatch",
    CHECKS + "checks.check_normalise = lambda f: print('✔ normalised')":
        "monkeypatch",
    CHECKS + "checks.check_normalise.__code__ = (lambda f: None).__code__":
        "monkeypatch",
    "import numpy as np\nsetattr(np, 'isclose', lambda *a: True)": "monkeypatch",
    "import numpy as np\nvars(np)['allclose'] = len": "monkeypatch",
    "import numpy as np\nnp.__dict__.update(allclose=len)": "monkeypatch",
    "import sys\nsys.modules['numpy'] = None": "monkeypatch",
    "import sys\nsys.modules.pop('course_utils')": "monkeypatch",
    "import builtins\nbuiltins.print = lambda *a: None": "monkeypatch",
    "__builtins__.print = None": "monkeypatch",
    "from unittest import mock\nmock.patch('numpy.allclose').start()": "monkeypatch",
    "import ctypes": "monkeypatch",
    # IPython's hooks
    "get_ipython().input_transformers_cleanup.append(str.upper)": "ipython-hooks",
    "ip = get_ipython()\nip.events.register('post_run_cell', print)":
        "ipython-hooks",
    "from IPython import get_ipython\nget_ipython().ast_transformers.append(1)":
        "ipython-hooks",
    "get_ipython().run_line_magic('load_ext', 'x')": "ipython-hooks",
    "%load_ext autoreload": "ipython-hooks",
    "%run other.py": "ipython-hooks",
    "get_ipython().kernel.session.send": "ipython-hooks",
    # files outside the working folder
    "open('/etc/passwd').read()": "outside-files",
    "open('../job/events.jsonl', 'a').write('x')": "outside-files",
    "from pathlib import Path\nPath('/proc/self/environ').read_bytes()":
        "outside-files",
    "from pathlib import Path\nPath.home()": "outside-files",
    "import os\nos.path.expanduser('~/.ipython')": "outside-files",
    "import os\nos.listdir('/tmp')": "outside-files",
    "import glob\nglob.glob('/tmp/course-grade-*/job/*')": "outside-files",
    "import shutil\nshutil.rmtree('../../submissions')": "outside-files",
    "import site\nsite.getsitepackages()": "outside-files",
    "import course_utils\nprint(course_utils.__file__)": "outside-files",
    "path = '/root/.ipython/profile_default/startup/a.py'": "outside-files",
    "!cat /etc/passwd": "outside-files",
    "targets = ['../job/events.jsonl']": "outside-files",
    "import tempfile\ntempfile.gettempdir()": "outside-files",
    # processes
    "import os\nos.setsid()": "processes",
    "import os\nif os.fork() == 0:\n    pass": "processes",
    "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)": "processes",
    "import subprocess\nsubprocess.Popen(['sleep', '9'], start_new_session=True)":
        "processes",
    "import subprocess\nsubprocess.run('nohup sleep 9 &', shell=True)": "processes",
    "!nohup sleep 100 &": "processes",
    "import psutil": "processes",
    # code hidden from a static scan, or not
    "exec(bytes.fromhex('6e70').decode())": "dynamic-code",
    "exec('import numpy as np\\nnp.isclose = 1')": "monkeypatch",
    # cells that do not parse are searched as text
    "def f(:\n    np.allclose = 3": "monkeypatch",
    "print('unclosed\nfrom course_utils.checks import core": "check-internals",
}

CLEAN = [
    "import numpy as np\nx = np.zeros(3)\nx[0] = 1.0\nnp.allclose(x, 0)",
    "self.count = self.count + 1",
    "import os\nos.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')",
    "import os\nos.environ['X'] = '1'",
    "import matplotlib.pyplot as plt\nplt.rcParams['figure.figsize'] = (3, 4)",
    CHECKS + "checks.check_normalise(normalise)",
    "import course_utils as cu\ncu.checks.cartpole.check_normalise(normalise)",
    "from course_utils import CheckFailed",
    "open('results.csv', 'w').write('a,b')",
    "from pathlib import Path\nPath('data') / 'x.npy'",
    "print('~ 475 steps / episode', f'{1}/{2}')",
    "%matplotlib inline\n%timeit sum(range(10))",
    "np.zeros?",
    "import sys\nif 'google.colab' in sys.modules:\n    import subprocess\n"
    "    subprocess.run([sys.executable, '-m', 'pip', 'install', 'x'], check=True)",
    "import os\nos._exit(3)",
    "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)",
    "model.trainable = False\nlayer.kernel_initializer = None",
    "reference = np.array([1.0])  # a student's own variable",
    "print('...', '..', 'a..b')",
]


@pytest.mark.parametrize("source, flag", FLAGGED.items(),
                         ids=[f"{i}" for i in range(len(FLAGGED))])
def test_each_rule_flags_its_snippet(source, flag):
    assert scan([source]) == (flag,), source


@pytest.mark.parametrize("source", CLEAN, ids=[f"{i}" for i in range(len(CLEAN))])
def test_look_alikes_are_not_flagged(source):
    assert scan([source]) == (), source


def test_imports_carry_from_cell_to_cell_and_flags_come_once_in_order():
    cells = [
        "import numpy as numeric\nfrom course_utils.checks import pendulum as p",
        "numeric.isclose = None",
        "p.reference_ou_step(0, 0, 0, 0, 0, 0)\nopen('/etc/hosts')",
        "numeric.allclose = None",
    ]
    assert scan(cells) == ("reference-call", "monkeypatch", "outside-files")


@pytest.mark.parametrize(
    "path", sorted((ROOT / "notebooks").rglob("*.ipynb")),
    ids=lambda path: str(path.relative_to(ROOT / "notebooks")),
)
def test_the_courses_own_notebooks_raise_no_flag(path):
    assert notebook_flags(nbformat.read(path, as_version=4).cells) == ""
