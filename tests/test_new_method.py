"""CONTRIBUTING's recipe, tested: a method module written into a throwaway package, with nothing else edited, appears in
`calm_nb methods`, the demo's list and settings, the faithfulness table, the hyper-parameter checks and the planner."""
import json, os, subprocess, sys, textwrap
from pathlib import Path
import pytest

MODULE = textwrap.dedent('''
    import torch
    from calm_nb.registry import register_method, MemoryModel

    @register_method(
        paper='a throwaway test method', data='unlabeled', order=25,
        faithfulness={'code': 'none: a test', 'status': 'a test', 'deviations': [('none', 'a test', 'not measured')]},
        rules={'shrink': ('real', 0, 1, False, False)}, memory=MemoryModel(2, 1),
        demo={'zoo-vit': {'steps': 2}}, quick={'steps': 1})
    def shrunk_average(pretrained, finetuned, *, bench=None, shrink: float = 0.5, steps: int = 3, micro_batch='auto',
                       include=None, exclude=None):
        "θ_pre + shrink · mean τ (a throwaway method of the test)."
        return {k: v + shrink * sum(f[k] - v for f in finetuned) / len(finetuned) if v.is_floating_point() else v
                for k, v in pretrained.items()}
''')

@pytest.fixture
def plugin(tmp_path, monkeypatch):
    pkg = tmp_path / 'throwaway_methods'
    pkg.mkdir(); (pkg / '__init__.py').write_text(''); (pkg / 'shrunk.py').write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path)); monkeypatch.setenv('CALM_NB_METHODS', 'throwaway_methods')
    yield tmp_path
    from calm_nb.registry import METHODS
    METHODS.pop('shrunk_average', None)
    for m in [m for m in sys.modules if m.startswith('throwaway_methods')]: del sys.modules[m]

def test_cli_lists_it(plugin):
    env = os.environ | {'PYTHONPATH': os.pathsep.join([str(plugin), os.environ.get('PYTHONPATH', '')])}
    out = subprocess.run([sys.executable, '-c', 'from calm_nb.cli import main; main(["methods", "--json"])'],
                         capture_output=True, text=True, env=env, check=True).stdout
    rows = {r['name']: r for r in json.loads(out)}
    assert rows['shrunk_average']['paper'] == 'a throwaway test method' and rows['shrunk_average']['needs_data']
    assert list(rows).index('shrunk_average') == list(rows).index('ties_merging') - 1   # order 25: before TIES (30)

def test_everywhere_in_process(plugin):
    import torch
    from calm_nb.registry import list_methods, faithfulness_table, check_hparams, HyperParameterError, merge
    from calm_nb.runs import demo_hparams
    from calm_nb.device import plan_device_memory
    assert 'shrunk_average' in list_methods() and 'shrunk_average' in list_methods(needs_data=True)   # the demo's list
    hp, scaled = demo_hparams(['shrunk_average'], 'zoo-vit', quick=False)
    assert scaled == {'shrunk_average': {'steps': 2}} and hp['shrunk_average'] == {'steps': 2}
    assert demo_hparams(['shrunk_average'], 'zoo-vit', quick=True)[0]['shrunk_average'] == {'steps': 1}
    assert '| `shrunk_average` | a throwaway test method | none: a test |' in faithfulness_table()
    with pytest.raises(HyperParameterError, match='shrink must be a finite number in \\[0, 1\\], got 2'):
        check_hparams('shrunk_average', {'shrink': 2})
    with pytest.raises(HyperParameterError, match='steps must be an integer, got 2.5'):   # from the annotation
        check_hparams('shrunk_average', {'steps': 2.5})
    plan = plan_device_memory('shrunk_average', 1000, 4, 64, per_sample=1e6, budget=int(4 * 1000 * 6 + 16e6))
    assert plan['buffer_bytes'] == 4 * 1000 * (2 + 4) and plan['micro_batch'] == 16   # micro-batches: it takes micro_batch
    out = merge('shrunk_average', {'w': torch.zeros(2)}, [{'w': torch.ones(2)}, {'w': 3 * torch.ones(2)}], shrink=0.25)
    assert torch.equal(out['w'], torch.full((2,), 0.5))
