"""The shipped own-task configurations run as written: `own_image_tasks.yaml` and `own_text_tasks.yaml`, with their data and
models created at the paths they name (tiny models in the real formats, under calm_nb.rehearsal's simulated hubs), through the
`calm_nb merge --config` command. Checks the declared classes, heads and split roles reach the results and the run record."""
import json, os
from pathlib import Path

import numpy as np
import pytest
import torch

from calm_nb.cli import CONFIGS
from calm_nb.fixtures import run_cli
from calm_nb.io import save_state_dict
from calm_nb.rehearsal import simulated_hubs, _tiny_roberta


_main = run_cli   # calm_nb merge/eval/… in-process: (exit code, stdout, stderr)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path); monkeypatch.setenv('CALM_NB_CACHE', str(tmp_path / 'cache'))
    (tmp_path / 'run.yaml').write_text('')
    return tmp_path


def _imagefolder(root: Path, classes, per_split=(12, 6), seed=0):
    from PIL import Image
    rng = np.random.default_rng(seed)
    for split, n in zip(('train', 'test'), per_split):
        for k in range(n):
            c = classes[k % len(classes)]; (root / split / c).mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(root / split / c / f'{k}.png')


def test_own_image_tasks_config(workdir):
    import open_clip
    cfg = (CONFIGS / 'own_image_tasks.yaml').read_text()
    with simulated_hubs(workdir / 'hub'):
        model, _, _ = open_clip.create_model_and_transforms('ViT-B-32', pretrained='openai', force_quick_gelu=True)
        tower = model.visual.state_dict()
        g = torch.Generator().manual_seed(0)
        (workdir / 'models').mkdir()
        for t in ('colors', 'shapes', 'textures'):
            save_state_dict({k: v + 0.01 * torch.randn(v.shape, generator=g) if v.is_floating_point() else v for k, v in tower.items()},
                            workdir / 'models' / f'{t}.safetensors')
        _imagefolder(workdir / 'data/colors', ['blue', 'green', 'red'])
        _imagefolder(workdir / 'data/shapes', ['circle', 'square', 'triangle'], seed=1)
        _imagefolder(workdir / 'data/textures', ['dotted', 'striped'], seed=2)
        save_state_dict({'weight': torch.randn(2, model.visual.output_dim, generator=g), 'bias': torch.zeros(2)}, workdir / 'models/textures_head.safetensors')
        (workdir / 'run.yaml').write_text(cfg)
        code, out, err = _main(['merge', '--config', 'run.yaml', '--set', 'iterations=2', 'batch_size=8', '--quiet'])
    assert code == 0, err
    res = json.loads((workdir / 'runs/own_image_calm/results.json').read_text())
    assert list(res['per_task']) == ['colors', 'shapes', 'textures']
    assert res['splits']['colors'] == {'eval': 'test', 'unlabeled': 'train', 'train': 'train', 'data': f'imagefolder: {workdir / "data/colors"}'}   # paths in a YAML file resolve relative to it
    run = json.loads((workdir / 'runs/own_image_calm/run.json').read_text())
    assert run['status'] == 'finished' and run['splits'] == res['splits'] and len(run['inputs']) == 3
    assert all(len(i['sha256']) == 64 for i in run['inputs'])
    card = json.loads((workdir / 'runs/own_image_calm/calm/run_card.json').read_text())
    assert card['splits'] == res['splits'] and len(card['sequential_tasks']) == 1


def test_own_text_tasks_config(workdir):
    import datasets as hfd
    from transformers import RobertaForSequenceClassification
    cfg = (CONFIGS / 'own_text_tasks.yaml').read_text()
    words = 'good bad movie the a is not great terrible film it was fine awful plot'.split()
    rng = np.random.default_rng(0)
    sent = lambda: ' '.join(rng.choice(words, 5))
    (workdir / 'data/reviews').mkdir(parents=True); (workdir / 'data/topics').mkdir(parents=True)
    for s, n in (('train', 24), ('test', 10)):
        (workdir / f'data/reviews/{s}.csv').write_text('review,sentiment\n' + ''.join(f'{sent()},{("neg", "pos")[i % 2]}\n' for i in range(n)))
        (workdir / f'data/topics/{s}.jsonl').write_text(''.join(json.dumps({'text': sent(), 'label': ['sports', 'politics', 'science'][i % 3]}) + '\n' for i in range(n)))
    hfd.DatasetDict({s: hfd.Dataset.from_dict({'sentence': [sent() for _ in range(n)], 'label': [i % 2 for i in range(n)]})
                     for s, n in (('train', 24), ('validation', 10))}).save_to_disk(str(workdir / 'data/sst2'))
    base = _tiny_roberta(workdir / 'hub')
    for i, (t, c) in enumerate((('reviews', 2), ('topics', 3), ('sst2', 2))):
        m = RobertaForSequenceClassification.from_pretrained(base, num_labels=c)
        g = torch.Generator().manual_seed(i)
        with torch.no_grad():
            for p in m.parameters(): p.add_(0.02 * torch.randn(p.shape, generator=g))
        m.save_pretrained(workdir / 'models' / t)
    (workdir / 'run.yaml').write_text(cfg)
    with simulated_hubs(workdir / 'hub'):
        code, out, err = _main(['merge', '--config', 'run.yaml', '--set', 'iterations=2', 'batch_size=8', '--quiet'])
    assert code == 0, err
    res = json.loads((workdir / 'runs/own_text_calm/results.json').read_text())
    assert list(res['per_task']) == ['reviews', 'topics', 'SST-2']
    assert res['splits']['SST-2']['eval'] == 'validation' and res['splits']['SST-2']['data'] == f'save_to_disk: {workdir / "data/sst2"}'
    assert res['splits']['reviews']['eval'] == 'test'
    run = json.loads((workdir / 'runs/own_text_calm/run.json').read_text())
    assert run['status'] == 'finished' and len(run['inputs']) == 3
