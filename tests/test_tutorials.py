"""The Colab tutorials, rehearsed offline: every code cell but the `pip` line runs top to bottom against simulated hubs
(calm_nb.rehearsal: the registry's datasets with the hub copies' schemas, tiny random-weight models in the real formats) at
SIZE='tiny', on the CPU. A second rehearsal in the same folders resumes: finished methods and per-task runs are read back."""
import json
from pathlib import Path

import pytest

from calm_nb.rehearsal import rehearse, roberta_finetuned
from calm_nb.data import NLP_TASKS

ROOT = Path(__file__).resolve().parents[1]


def _env(tmp):
    return {'CALM_NB_SIZE': 'tiny', 'CALM_RUNS': str(tmp / 'runs'), 'CALM_NB_CACHE': str(tmp / 'cache'), 'MPLBACKEND': 'Agg'}


def _code_cells(nb):
    return [i for i, c in enumerate(json.loads(Path(nb).read_text())['cells']) if c['cell_type'] == 'code']


def test_clip_tutorial_offline(tmp_path):
    nb = ROOT / 'nbs' / 'tutorials' / 'clip_vit_b32.ipynb'
    r = rehearse(nb, tmp_path / 'hub', _env(tmp_path))
    assert len(r['skipped']) == 1 and sorted(r['ran'] + r['skipped']) == _code_cells(nb)   # only the pip cell is left out
    ns = r['namespace']
    assert len(ns['bench'].tasks) == 8 and {'calm', 'ties_merging', 'adamerging_lw'} <= set(ns['results'])
    runs = tmp_path / 'runs'
    assert (runs / 'seed0' / 'methods' / 'calm.json').exists() and len(list((runs / 'per_task').iterdir())) == 8
    assert list((runs / 'figures').rglob('*.png'))
    ft = json.loads((runs / 'finetuned' / 'finetune.json').read_text())   # (c): fine-tuned here, then merged from that folder
    assert ft['status'] == 'finished' and len(ft['tasks']) == 8 and ns['CHECKPOINTS'] == str(runs / 'finetuned')
    assert all(c['head'] == 'frozen' for c in ft['tasks'].values())
    again = rehearse(nb, tmp_path / 'hub', _env(tmp_path))   # after a "runtime reset": everything is read back
    assert again['namespace']['results']['calm']['avg'] == ns['results']['calm']['avg']


def test_roberta_tutorial_offline(tmp_path):
    nb = ROOT / 'nbs' / 'tutorials' / 'roberta_nlp.ipynb'
    r = rehearse(nb, tmp_path / 'hub', _env(tmp_path))   # from roberta-base alone: fine-tuned here (prompt-based), then merged
    assert len(r['skipped']) == 1 and sorted(r['ran'] + r['skipped']) == _code_cells(nb)
    ns = r['namespace']
    bench = ns['bench']
    assert len(bench.tasks) == 12 and 'calm' in ns['results'] and bench.config['heads'] == 'prompt'
    ft = json.loads((tmp_path / 'runs' / 'finetuned' / 'finetune.json').read_text())
    assert ft['status'] == 'finished' and len(ft['tasks']) == 12 and all(c['head'] == 'frozen' and c['steps'] == 2 for c in ft['tasks'].values())
    assert all(c['recipe']['optimizer'] == 'sgd' and c['n_train'] <= 16 * 6 for c in ft['tasks'].values())   # K=16 per class at most
    snli = bench.tasks[bench.task_names.index('SNLI')]
    assert int(snli.y_test.min()) >= 0   # the -1 rows of the hub copy are left out
    mrpc = bench.tasks[bench.task_names.index('MRPC')]
    assert len(mrpc.x_train) > 0          # labelled examples from the train split although validation is small


def test_roberta_tutorial_own_classifiers(tmp_path):
    "With CALM_NB_ROBERTA_FT pointing at RobertaForSequenceClassification folders, the tutorial merges those with their own heads."
    nb = ROOT / 'nbs' / 'tutorials' / 'roberta_nlp.ipynb'
    ft = roberta_finetuned(tmp_path / 'hub', list(NLP_TASKS))
    r = rehearse(nb, tmp_path / 'hub', _env(tmp_path) | {'CALM_NB_ROBERTA_FT': str(Path(next(iter(ft.values()))).parent)})
    assert r['namespace']['bench'].config['heads'] == 'classifier' and 'calm' in r['namespace']['results']
