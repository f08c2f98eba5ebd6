"""Repository-level checks: the README's two commands, the console entry point, README generated from index.ipynb."""
import shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import build_readme, readme_command  # noqa: E402


def test_readme_has_the_two_commands():
    cmds = readme_command.commands()
    assert cmds['main'].endswith('calm_nb demo') and 'pip install' in cmds['main']
    assert 'pytest' in cmds['test'] and 'pip install' in cmds['test']


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / '.ci' / 'run').read_text()
    assert "tools/readme_command.py test" in ci and "bash -c \"$test_cmd\"" in ci
    assert "python3 -m venv" in ci and "activate" in ci   # CI runs it in a brand-new venv


def test_readme_is_generated_from_index():
    assert (ROOT / 'README.md').read_text() == build_readme.render(), 'run python tools/build_readme.py'


def test_console_entry_point():
    exe = shutil.which('calm_nb')
    assert exe, 'the calm_nb console script is not installed (pip install -e .)'
    out = subprocess.run([exe, '--help'], capture_output=True, text=True, check=True).stdout
    assert 'demo' in out and 'merge' in out and 'methods' in out
    out = subprocess.run([exe, 'methods'], capture_output=True, text=True, check=True).stdout
    assert 'ties_merging' in out and 'task_arithmetic' in out


def test_main_job_quick(tmp_path):
    r = subprocess.run([shutil.which('calm_nb'), 'demo', '--quick', '--no-progress', '--out', str(tmp_path)],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert '| Individual |' in r.stdout and (tmp_path / 'results.json').exists()
