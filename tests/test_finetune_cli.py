"""`calm_nb finetune` end to end on the embedded benchmark's tiny open_clip model and image folders of one's own tasks:
fine-tuned towers with frozen zero-shot heads, written in the task-vector folder layout, merged by `calm_nb merge`; a rerun
continues (finished tasks kept); bad configurations get one line."""
import json, os
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from calm_nb.fixtures import run_cli
from calm_nb.io import load_state_dict


def _folder(root, classes, n=(24, 12), seed=0):
    "An imagefolder whose classes differ in colour, so a few steps of fine-tuning can learn them."
    from PIL import Image
    rng = np.random.default_rng(seed)
    hues = {c: rng.integers(0, 256, 3) for c in classes}
    for split, k in zip(('train', 'test'), n):
        for j in range(k):
            c = classes[j % len(classes)]
            (root / split / c).mkdir(parents=True, exist_ok=True)
            img = np.clip(hues[c] + rng.normal(0, 20, (36, 36, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(root / split / c / f'{j}.png')


@pytest.fixture(scope='module')
def D(tmp_path_factory):
    d = tmp_path_factory.mktemp('ft')
    os.environ['CALM_NB_CACHE'] = str(d / 'cache')
    _folder(d / 'data/colors', ['blue', 'green', 'red']); _folder(d / 'data/marks', ['dark', 'light'], seed=1)
    return d


def ft_cfg(D, out='ft', **kw):
    from calm_nb.zoo import register_zoo_model
    return {'source': {'vision': {'model': register_zoo_model(), 'pretrained': None, 'n_unlabeled': 6,
                                  'tasks': [{'name': 'colors', 'data': {'loader': 'imagefolder', 'data_dir': str(D / 'data/colors')}},
                                            {'name': 'marks', 'data': {'loader': 'imagefolder', 'data_dir': str(D / 'data/marks')}}]}},
            'out': str(D / out), 'seed': 0, 'recipe': {'lr': 1e-3, 'batch_size': 8, 'warmup_steps': 2, 'epochs': 3}} | kw


def test_finetune_then_merge(D):
    (D / 'ft.yaml').write_text(yaml.safe_dump(ft_cfg(D)))
    code, out, err = run_cli(['finetune', '--config', str(D / 'ft.yaml')])
    assert code == 0, err
    assert 'colors: fine-tuning on 18 examples for 3 epochs (head frozen)' in out, out   # 24 training images less 6 held out as unlabeled
    doc = json.loads((D / 'ft/finetune.json').read_text())
    assert doc['status'] == 'finished' and set(doc['tasks']) == {'colors', 'marks'}
    for t in ('colors', 'marks'):
        card = doc['tasks'][t]
        assert card['loss_last'] < card['loss_first'] and card['head'] == 'frozen' and card['n_train'] == 18, card
        assert set(load_state_dict(D / f'ft/{t}/finetuned.safetensors')) == set(load_state_dict(D / 'ft/zeroshot.safetensors'))
    assert not list((D / 'ft').rglob('finetune_checkpoint*'))
    # a rerun keeps what is finished
    code, out, err = run_cli(['finetune', '--config', str(D / 'ft.yaml')])
    assert code == 0 and 'colors: already fine-tuned' in out and 'marks: already fine-tuned' in out, (out, err)
    # the folder is the task-vector layout calm_nb merge reads
    from calm_nb.zoo import register_zoo_model
    run = {'method': 'task_arithmetic', 'out': str(D / 'merged'),
           'source': {'vision': {'model': register_zoo_model(), 'pretrained': None, 'checkpoints': str(D / 'ft'), 'n_unlabeled': 6, 'n_train': 0,
                                 'tasks': ft_cfg(D)['source']['vision']['tasks']}}}
    (D / 'merge.yaml').write_text(yaml.safe_dump(run))
    code, out, err = run_cli(['merge', '--config', str(D / 'merge.yaml'), '--quiet'])
    assert code == 0, err
    res = json.loads((D / 'merged/results.json').read_text())
    assert set(res['per_task']) == {'colors', 'marks'}


def test_set_overrides_and_bad_configs(D):
    (D / 'ft2.yaml').write_text(yaml.safe_dump(ft_cfg(D, out='ft2')))
    code, out, err = run_cli(['finetune', '--config', str(D / 'ft2.yaml'), '--set', 'epochs=1', '--quiet'])
    assert code == 0, err
    assert json.loads((D / 'ft2/finetune.json').read_text())['tasks']['colors']['recipe']['epochs'] == 1
    for bad, fragment in [(ft_cfg(D, recipe={'lrr': 1}), "recipe: FinetuneRecipe.__init__() got an unexpected keyword argument 'lrr'"),
                          (ft_cfg(D, recipe={'batch_size': 0}), 'recipe: batch_size must be an integer ≥ 1'),
                          (ft_cfg(D, device='gpu'), "device: expected cpu, cuda, cuda:N or mps, got 'gpu'"),
                          (ft_cfg(D, source={'checkpoints': {'checkpoints': str(D)}}), 'calm_nb finetune fine-tunes CLIP image towers (a `vision` source) or RoBERTa'),
                          (ft_cfg(D, source={'nlp': {'tasks': ['SST-2']}}), "couldn't connect"),   # roberta-base from an unreachable hub: its own line
                          (ft_cfg(D, method='calm'), 'method: unknown key')]:
        (D / 'bad.yaml').write_text(yaml.safe_dump(bad))
        code, _, err = run_cli(['finetune', '--config', str(D / 'bad.yaml'), '--quiet'])
        assert code == 2 and err.count('\n') == 1 and fragment in err, (fragment, err)
    (D / 'occupied').mkdir(exist_ok=True); (D / 'occupied/mine.txt').write_text('x')
    (D / 'occ.yaml').write_text(yaml.safe_dump(ft_cfg(D, out='occupied')))
    code, _, err = run_cli(['finetune', '--config', str(D / 'occ.yaml'), '--quiet'])
    assert code == 3 and 'holds no calm_nb fine-tuning run' in err and (D / 'occupied/mine.txt').exists(), err


def _tiny_mlm(d: Path) -> Path:
    "A save_pretrained tiny RobertaForMaskedLM with a word-level tokenizer that has a <mask> and the SST-2/RTE label words."
    from tokenizers import Tokenizer, models as tk_models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, RobertaConfig, RobertaForMaskedLM
    words = '<s> <pad> </s> <unk> <mask> good great fine nice bad awful poor sad terrible the a film plot is was It Yes No . ? ,'.split()
    wl = Tokenizer(tk_models.WordLevel({w: i for i, w in enumerate(words)}, unk_token='<unk>')); wl.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=wl, bos_token='<s>', eos_token='</s>', unk_token='<unk>', pad_token='<pad>', mask_token='<mask>')
    torch.manual_seed(0)
    RobertaForMaskedLM(RobertaConfig(vocab_size=len(words), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                                     max_position_embeddings=40, pad_token_id=1)).save_pretrained(d)
    tok.save_pretrained(d)
    return d


def _text_csvs(d: Path, seed=0):
    "SST-2- and RTE-shaped CSVs whose label is carried by the words (positive ones vs negative ones)."
    import csv
    rng = np.random.default_rng(seed)
    def write(path, cols, rows):
        with open(path, 'w', newline='') as f: w = csv.writer(f); w.writerow(cols); w.writerows(rows)
    pos, neg, filler = ['good', 'great', 'fine', 'nice'], ['bad', 'awful', 'poor', 'sad'], ['the', 'a', 'film', 'plot', 'is', 'was']
    sent = lambda y: ' '.join(rng.choice(filler, 3).tolist() + [rng.choice(pos if y else neg)] + rng.choice(filler, 2).tolist())
    for split, n in (('train', 40), ('validation', 16)):
        ys = [i % 2 for i in range(n)]
        write(d / f'sst2_{split}.csv', ['sentence', 'label'], [(sent(y), y) for y in ys])
        write(d / f'rte_{split}.csv', ['sentence1', 'sentence2', 'label'], [(sent(y), sent(y), 1 - y) for y in ys])


def test_finetune_roberta_prompt_then_merge(D):
    "An `nlp` source from the CLI: prompt-based fine-tuning of a tiny masked LM (LM head and embeddings frozen), then `calm_nb merge` with heads: prompt."
    model = _tiny_mlm(D / 'mlm'); _text_csvs(D)
    csv = lambda stem: {'loader': 'csv', 'data_files': {'train': str(D / f'{stem}_train.csv'), 'validation': str(D / f'{stem}_validation.csv')}}
    src = {'model': str(model), 'tasks': ['SST-2', 'RTE'], 'n_unlabeled': 8, 'datasets': {'SST-2': csv('sst2'), 'RTE': csv('rte')}}
    cfg = {'source': {'nlp': src}, 'out': str(D / 'ftn'), 'seed': 0, 'k_shot': 8, 'recipe': {'steps': 60, 'lr': 3e-3, 'batch_size': 4, 'optimizer': 'adamw'}}   # AdamW: a random tiny LM learns in 60 steps
    (D / 'ftn.yaml').write_text(yaml.safe_dump(cfg))
    code, out, err = run_cli(['finetune', '--config', str(D / 'ftn.yaml')])
    assert code == 0, err
    assert 'SST-2: fine-tuning on 16 examples for 60 steps (head frozen)' in out, out
    doc = json.loads((D / 'ftn/finetune.json').read_text())
    assert doc['status'] == 'finished' and doc['heads'] == 'prompt' and set(doc['tasks']) == {'SST-2', 'RTE'}
    pre = load_state_dict(D / 'ftn/pretrained.safetensors')
    for t in ('SST-2', 'RTE'):
        card = doc['tasks'][t]
        assert card['recipe']['frozen'] == ['embeddings'] and card['head'] == 'frozen' and card['n_train'] == 16, card
        if t == 'SST-2':   # one polar word per sentence: learned in 60 steps (the RTE-shaped pairs are not, at this size; that task checks the plumbing)
            assert card['loss_last'] < card['loss_first'] and card['accuracy_after'] > card['accuracy_before'], {k: card[k] for k in ('loss_first', 'loss_last', 'accuracy_before', 'accuracy_after')}
        ft = load_state_dict(D / f'ftn/{t}/finetuned.safetensors')
        assert set(ft) == set(pre) and torch.equal(ft['embeddings.word_embeddings.weight'], pre['embeddings.word_embeddings.weight'])   # frozen
        assert not torch.equal(ft['encoder.layer.0.attention.self.query.weight'], pre['encoder.layer.0.attention.self.query.weight'])
    run = {'method': 'task_arithmetic', 'out': str(D / 'mergedn'),
           'source': {'nlp': src | {'checkpoints': str(D / 'ftn'), 'heads': 'prompt', 'n_train': 0}}}
    (D / 'mergen.yaml').write_text(yaml.safe_dump(run))
    code, out, err = run_cli(['merge', '--config', str(D / 'mergen.yaml'), '--quiet'])
    assert code == 0, err
    assert set(json.loads((D / 'mergedn/results.json').read_text())['per_task']) == {'SST-2', 'RTE'}
    bad = cfg | {'source': {'nlp': src | {'heads': 'classifier'}}}
    (D / 'bad.yaml').write_text(yaml.safe_dump(bad))
    code, out, err = run_cli(['finetune', '--config', str(D / 'bad.yaml')])
    assert code == 2 and 'heads: prompt' in err, (code, err)
