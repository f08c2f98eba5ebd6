"""Every package the project imports is declared in settings.ini (tools/check_imports.py), and the check can fail."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import check_imports  # noqa: E402


def test_every_import_is_declared():
    bad = check_imports.undeclared()
    assert not bad, 'undeclared imports:\n' + '\n'.join(bad)


def test_the_scan_sees_every_place():
    files = {f.relative_to(ROOT).as_posix() for f in check_imports.project_files()}
    for f in ('calm_nb/plots.py', 'tools/build_docs.py', 'tests/test_repo.py', 'nbs/09_plots.ipynb', 'conftest.py'):
        assert f in files, f
    found = {m for m, _, _ in check_imports.imports_in((ROOT / 'calm_nb' / 'plots.py').read_text(), 'plots.py')}
    assert {'seaborn', 'ipywidgets', 'IPython', 'torch'} <= found   # seaborn and ipywidgets are imported inside functions


def _project(tmp_path, code: str, requirements='torch numpy', nb_code=None):
    (tmp_path / 'calm_nb').mkdir()
    (tmp_path / 'calm_nb' / 'thing.py').write_text(code)
    (tmp_path / 'settings.ini').write_text(f'[DEFAULT]\nrequirements = {requirements}\nhf_requirements = datasets>=2\n'
                                           'dev_requirements = pytest\n')
    if nb_code is not None:
        import json
        (tmp_path / 'nbs').mkdir()
        (tmp_path / 'nbs' / 'x.ipynb').write_text(json.dumps({'cells': [
            {'cell_type': 'code', 'source': ['%matplotlib inline\n', nb_code], 'metadata': {}, 'outputs': []}]}))
    return check_imports.undeclared(tmp_path)


def test_an_undeclared_import_fails(tmp_path):
    # pluggy is installed (pytest needs it) but declared nowhere: imported inside a function, it must still be caught
    bad = _project(tmp_path, 'import torch, json\n\ndef f():\n    import pluggy\n    return pluggy\n')
    assert len(bad) == 1 and bad[0].startswith('pluggy:') and 'calm_nb/thing.py:4' in bad[0], bad


def test_clean_project_passes(tmp_path):
    assert _project(tmp_path, 'import torch, os\nfrom numpy import linalg\nfrom . import other\n') == []


def test_extra_at_module_level_fails(tmp_path):
    # datasets is declared, but only in an optional extra: a module-level import would break a plain install
    bad = _project(tmp_path, 'import datasets\n')
    assert len(bad) == 1 and 'runtime' in bad[0], bad
    (tmp_path / 'b').mkdir()
    assert _project(tmp_path / 'b', 'def f():\n    import datasets\n') == []   # inside the function that needs it: fine


def test_notebook_and_missing_module(tmp_path):
    bad = _project(tmp_path, 'import torch\n', nb_code='import no_such_module_calm_nb\nfrom iniconfig import IniConfig\n')
    assert len(bad) == 2, bad
    assert any(b.startswith('iniconfig:') and 'nbs/x.ipynb' in b for b in bad), bad
    assert any(b.startswith('no_such_module_calm_nb:') and 'no installed distribution' in b for b in bad), bad
