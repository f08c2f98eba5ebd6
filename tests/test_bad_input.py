"""The bad-input table of issue 21 as a parametrised test, through both routes: the command line (`calm_nb merge`, in-process,
exit code and stderr) and the Python API (`calm_nb.runs.run`, the exception). Every case asserts a one-line message that names
what is wrong, the documented exit code (2: bad input, 3: output in use or exists), and that nothing is lost or half-written:
no temporary files, no merged file from a failed run, an earlier run's files untouched."""
import copy, errno, json, os, warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from calm_nb import cli

from calm_nb.fixtures import run_cli
from calm_nb.io import save_state_dict
from calm_nb.runs import run
from calm_nb.io import RunLock


_main = run_cli   # calm_nb merge/eval/… in-process: (exit code, stdout, stderr)


def _net(seed, scale=0.01, base=None):
    g = torch.Generator().manual_seed(seed)
    if base is None: return {'l1.weight': torch.randn(16, 8, generator=g), 'l1.bias': torch.randn(16, generator=g), 'l2.weight': torch.randn(4, 16, generator=g), 'n': torch.tensor(1)}
    return {k: v + scale * torch.randn(v.shape, generator=g) if v.is_floating_point() else v for k, v in base.items()}


@pytest.fixture(scope='module')
def F(tmp_path_factory):
    "Files every case may point at: tiny checkpoints, broken ones, a tiny open_clip tower with task-vector files, image folders."
    d = tmp_path_factory.mktemp('bad')
    os.environ['CALM_NB_CACHE'] = str(d / 'cache')
    pre = _net(0); save_state_dict(pre, d / 'pre.safetensors')
    for i in range(3): save_state_dict(_net(i + 1, base=pre), d / f'ft{i}.safetensors')
    (d / 'corrupt.safetensors').write_bytes(os.urandom(2048))
    raw = (d / 'ft0.safetensors').read_bytes(); (d / 'truncated.safetensors').write_bytes(raw[:len(raw) // 2])
    sd = dict(_net(1, base=pre)); sd['l1.weight'] = torch.zeros(3, 3); save_state_dict(sd, d / 'shape.safetensors')
    sd = dict(_net(1, base=pre)); sd.pop('l2.weight'); sd['other'] = torch.zeros(2); save_state_dict(sd, d / 'keys.safetensors')
    for bad in ('nan', 'inf'):
        sd = {k: v.clone() for k, v in _net(1, base=pre).items()}; sd['l1.weight'][0, 0] = float(bad); save_state_dict(sd, d / f'{bad}.safetensors')
    torch.save([1, 2], d / 'list.pt'); (d / 'empty.pt').write_bytes(b'')
    sd = {k: v.clone() for k, v in _net(2, base=pre).items()}; sd['l2.weight'] = pre['l2.weight'] + (sd['l2.weight'] - pre['l2.weight']) * 1e30
    save_state_dict(sd, d / 'scaled.safetensors')
    # vision: the zoo's tiny open_clip config, task-vector files (whole CLIP pickled), image folders
    import open_clip
    from calm_nb.zoo import register_zoo_model
    from calm_nb.fixtures import fake_task_vector_files
    name = register_zoo_model(); clip = open_clip.create_model(name, pretrained=None)
    for t in ('colors', 'shapes'):
        (d / 'ckpt' / t).mkdir(parents=True); fake_task_vector_files(d / 'ckpt' / t, clip, bump=0.05, head=False)
    (d / 'ckpt/colors/zeroshot.pt').rename(d / 'ckpt/zeroshot.pt'); (d / 'ckpt/shapes/zeroshot.pt').unlink(missing_ok=True)
    from PIL import Image
    rng = np.random.default_rng(0)
    def folder(root, classes, n=(12, 6), only=None):
        for split, k in zip(('train', 'test'), n):
            for j in range(k):
                c = (only or classes)[j % len(only or classes)] if split == 'test' or only is None else only[0]
                (root / split / c).mkdir(parents=True, exist_ok=True)
                Image.fromarray(rng.integers(0, 255, (36, 36, 3), dtype=np.uint8)).save(root / split / c / f'{j}.png')
    folder(d / 'data/colors', ['blue', 'green', 'red']); folder(d / 'data/shapes', ['circle', 'square'])
    (d / 'data/notest/train/a').mkdir(parents=True); Image.fromarray(np.zeros((36, 36, 3), np.uint8)).save(d / 'data/notest/train/a/0.png')
    (d / 'data/notest/train/b').mkdir(parents=True); Image.fromarray(np.zeros((36, 36, 3), np.uint8)).save(d / 'data/notest/train/b/0.png')
    (d / 'data/csv').mkdir(); (d / 'data/csv/train.csv').write_text('text,label\na,0\nb,1\n')
    (d / 'model_configs').mkdir(); (d / 'model_configs/mine.json').write_text(json.dumps({'embed_dim': 8}))
    (d / 'model_configs/broken.json').write_text('{')
    (d / 'occupied').mkdir(); (d / 'occupied/notes.txt').write_text('mine')
    (d / 'typo.yaml').write_text('method: ties_merging\nsourse: zoo-vit\nout: x\n'); (d / 'broken.yaml').write_text('method: [calm\n')
    (d / 'list.yaml').write_text('- method\n')
    return d


def ckpt_cfg(d, **kw):
    c = {'method': 'ties_merging', 'source': {'checkpoints': {'pretrained': str(d / 'pre.safetensors'),
                                                            'finetuned': {f't{i}': str(d / f'ft{i}.safetensors') for i in range(3)}}},
         'out': str(d / 'runs' / 'c')}
    return _apply(c, kw)


def vis_cfg(d, method='calm', **kw):
    from calm_nb.zoo import register_zoo_model
    c = {'method': method, 'hparams': {'iterations': 1, 'batch_size': 4, 'n_seq': 1} if method == 'calm' else {},
         'source': {'vision': {'model': register_zoo_model(), 'pretrained': None, 'checkpoints': str(d / 'ckpt'), 'n_unlabeled': 8, 'n_train': 4,
                               'tasks': [{'name': 'colors', 'data': {'loader': 'imagefolder', 'data_dir': str(d / 'data/colors')}},
                                         {'name': 'shapes', 'data': {'loader': 'imagefolder', 'data_dir': str(d / 'data/shapes')}}]}},
         'out': str(d / 'runs' / 'v')}
    return _apply(c, kw)


def _apply(c, kw):
    "Set dotted keys (`source.vision.n_train`); the value DEL removes the key."
    c = copy.deepcopy(c)
    for path, v in kw.items():
        *head, last = path.split('__')
        node = c
        for h in head: node = node[int(h)] if isinstance(node, list) else node[h]
        if v is DEL: node.pop(last)
        elif isinstance(node, list): node[int(last)] = v
        else: node[last] = v
    return c

DEL = object()
V = 'source__vision__'
T0 = V + 'tasks__0__'

# (id, config builder, expected exit code, message fragment)
CASES = [
    # top-level keys: types and ranges
    ('seed float', lambda d: ckpt_cfg(d, seed=1.7), 2, 'seed: expected a valid integer, got 1.7'),
    ('seed negative', lambda d: ckpt_cfg(d, seed=-1), 2, 'seed: expected greater than or equal to 0'),
    ('seed string', lambda d: ckpt_cfg(d, seed='0'), 2, "seed: expected a valid integer, got '0'"),
    ('evaluate string', lambda d: ckpt_cfg(d, evaluate='false'), 2, "evaluate: expected a valid boolean, got 'false'"),
    ('evaluate int', lambda d: ckpt_cfg(d, evaluate=1), 2, 'evaluate: expected a valid boolean'),
    ('device gpu', lambda d: ckpt_cfg(d, device='gpu'), 2, "device: expected cpu, cuda, cuda:N or mps, got 'gpu'"),
    ('device cuda:9', lambda d: ckpt_cfg(d, device='cuda:9'), 2, "device: 'cuda:9' is not available here"),
    ('chunk_size 0', lambda d: ckpt_cfg(d, chunk_size=0), 2, 'chunk_size: expected greater than or equal to 1'),
    ('chunk_size float', lambda d: ckpt_cfg(d, chunk_size=2.5), 2, 'chunk_size: expected a valid integer'),
    ('unknown top key', lambda d: ckpt_cfg(d, itertions=3), 2, 'itertions: unknown key'),
    ('no out', lambda d: ckpt_cfg(d, out=DEL), 2, 'out: missing'),
    ('no method', lambda d: ckpt_cfg(d, method=DEL), 2, 'method: missing'),
    ('method typo', lambda d: ckpt_cfg(d, method='tie_merging'), 2, 'did you mean ties_merging'),
    ('hparams a list', lambda d: ckpt_cfg(d, hparams=[1]), 2, 'hparams: expected a valid dictionary'),
    ('include int', lambda d: ckpt_cfg(d, include=3), 2, 'include: expected a valid list'),
    ('max_memory words', lambda d: ckpt_cfg(d, max_memory='lots'), 2, "max_memory must look like 8GB or 512MB, got 'lots'"),
    ('max_memory list', lambda d: ckpt_cfg(d, max_memory=[1]), 2, 'max_memory: expected a valid string'),
    # hyper-parameters
    ('k string', lambda d: ckpt_cfg(d, hparams={'k': '0.2'}), 2, "hparams.k: ties_merging expects float (default 0.2), got '0.2' (str)"),
    ('k above 1', lambda d: ckpt_cfg(d, hparams={'k': 1.5}), 2, 'ties_merging: k must be a finite number in [0, 1], got 1.5'),
    ('lam inf', lambda d: ckpt_cfg(d, hparams={'lam': float('inf')}), 2, 'lam must be a finite number, got inf'),
    ('lam nan', lambda d: ckpt_cfg(d, hparams={'lam': float('nan')}), 2, 'hyper-parameter lam of ties_merging is NaN'),
    ('lam string', lambda d: ckpt_cfg(d, method='task_arithmetic', hparams={'lam': 'big'}), 2, "hparams.lam: task_arithmetic expects float"),
    ('unknown hparam', lambda d: ckpt_cfg(d, hparams={'topk': 0.2}), 2, "ties_merging has no hyper-parameter(s) ['topk']"),
    ('consensus k > T', lambda d: ckpt_cfg(d, method='consensus_ta', hparams={'k': 5}), 2, 'consensus_ta: k must be an integer in [1, 3], got 5'),
    ('consensus k 0', lambda d: ckpt_cfg(d, method='consensus_ta', hparams={'k': 0}), 2, 'consensus_ta: k must be an integer in [1, 3], got 0'),
    ('consensus ties k > T', lambda d: ckpt_cfg(d, method='consensus_ties', hparams={'k': 4}), 2, 'consensus_ties: k must be an integer in [1, 3], got 4'),
    ('dare p 1', lambda d: ckpt_cfg(d, method='dare', hparams={'p': 1.0}), 2, 'dare: p must be a finite number in [0, 1), got 1.0'),
    ('dare seed float', lambda d: ckpt_cfg(d, method='dare', hparams={'seed': 0.5}), 2, 'dare: seed must be an integer'),
    ('adamerging iterations -5', lambda d: vis_cfg(d, 'adamerging_tw', hparams={'iterations': -5}), 2, 'adamerging_tw: iterations must be an integer ≥ 0, got -5'),
    ('adamerging batch 0', lambda d: vis_cfg(d, 'adamerging_lw', hparams={'batch_size': 0}), 2, 'adamerging_lw: batch_size must be an integer ≥ 1, got 0'),
    ('calm checkpoint_every 0', lambda d: vis_cfg(d, hparams={'checkpoint_every': 0}), 2, 'checkpoint_every'),
    ('calm iterations float', lambda d: vis_cfg(d, hparams={'iterations': 2.5}), 2, 'iterations'),
    ('calm ratio 0', lambda d: vis_cfg(d, hparams={'ratio': 0.0}), 2, 'ratio must lie in (0, 1]'),
    ('calm ratio 1.5', lambda d: vis_cfg(d, hparams={'ratio': 1.5}), 2, 'ratio must lie in (0, 1]'),
    ('calm n_seq > T', lambda d: vis_cfg(d, hparams={'n_seq': 3}), 2, 'calm: n_seq must be an integer in [0, 2], got 3'),
    ('calm lr negative', lambda d: vis_cfg(d, hparams={'lr': -1.0}), 2, 'lr'),
    ('calm amp string', lambda d: vis_cfg(d, hparams={'amp': 'yes'}), 2, "amp"),
    ('fisher n_examples 0', lambda d: vis_cfg(d, 'fisher_merging', hparams={'n_examples': 0}), 2, 'fisher_merging: n_examples must be an integer ≥ 1, got 0'),
    ('L&S shots 0', lambda d: vis_cfg(d, 'localize_stitch', hparams={'shots_per_class': 0}), 2, 'localize_stitch: shots_per_class must be an integer ≥ 1, got 0'),
    # sources
    ('source two kinds', lambda d: ckpt_cfg(d, source={'benchmark': 'zoo-vit', 'nlp': {}}), 2, 'source: expected a mapping with exactly one of'),
    ('source unknown kind', lambda d: ckpt_cfg(d, source={'images': {}}), 2, 'source: expected a mapping with exactly one of'),
    ('source a number', lambda d: ckpt_cfg(d, source=3), 2, 'source: expected a valid dictionary, got 3'),
    ('benchmark unknown', lambda d: ckpt_cfg(d, source={'benchmark': 'imagenet'}), 2, "unknown benchmark 'imagenet'"),
    ('benchmark quick string', lambda d: ckpt_cfg(d, source={'benchmark': {'name': 'zoo-vit', 'quick': 'yes'}}), 2, 'source.benchmark.quick: expected a valid boolean'),
    ('benchmark unknown key', lambda d: ckpt_cfg(d, source={'benchmark': {'name': 'zoo-vit', 'fast': True}}), 2, 'source.benchmark.fast: unknown key'),
    ('finetuned one string', lambda d: ckpt_cfg(d, source__checkpoints__finetuned=str(d / 'ft0.safetensors')), 2, 'source.checkpoints.finetuned: expected a mapping {task: path} (or a list of paths), got one string'),
    ('checkpoints unknown key', lambda d: ckpt_cfg(d, source__checkpoints__pretraind='x'), 2, 'source.checkpoints.pretraind: unknown key'),
    ('checkpoints no pretrained', lambda d: ckpt_cfg(d, source__checkpoints__pretrained=DEL), 2, 'give `pretrained: PATH` and `finetuned'),
    ('checkpoints folder and files', lambda d: ckpt_cfg(d, source__checkpoints__checkpoints=str(d / 'ckpt')), 2, 'give either `checkpoints: FOLDER` or `finetuned`, not both'),
    ('checkpoints folder missing', lambda d: ckpt_cfg(d, source={'checkpoints': {'checkpoints': str(d / 'nockpt')}}), 2, 'nockpt does not exist'),
    ('checkpoints folder task missing', lambda d: ckpt_cfg(d, source={'checkpoints': {'checkpoints': str(d / 'ckpt'), 'tasks': ['colors', 'MNIST']}}), 2, 'has no MNIST/finetuned.pt'),
    ('data method on checkpoints', lambda d: ckpt_cfg(d, method='calm'), 2, 'calm needs task data'),
    ('tasks one string', lambda d: vis_cfg(d, source__vision__tasks='MNIST'), 2, "source.vision.tasks: expected a list of task names or declarations, got one name ('MNIST')"),
    ('tasks one mapping', lambda d: vis_cfg(d, source__vision__tasks={'name': 'x'}), 2, 'got one mapping; put it in a list'),
    ('n_train negative', lambda d: vis_cfg(d, **{V + 'n_train': -1}), 2, 'source.vision.n_train: expected greater than or equal to 0, got -1'),
    ('n_unlabeled 0', lambda d: vis_cfg(d, **{V + 'n_unlabeled': 0}), 2, 'source.vision.n_unlabeled: expected greater than or equal to 1, got 0'),
    ('n_unlabeled string', lambda d: vis_cfg(d, **{V + 'n_unlabeled': '10'}), 2, "source.vision.n_unlabeled: expected a valid integer, got '10'"),
    ('n_test 0', lambda d: vis_cfg(d, **{V + 'n_test': 0}), 2, 'source.vision.n_test: expected greater than or equal to 1'),
    ('allow_test string', lambda d: vis_cfg(d, **{V + 'allow_test_as_unlabeled': 'yes'}), 2, 'allow_test_as_unlabeled: expected a valid boolean'),
    ('vision unknown key', lambda d: vis_cfg(d, **{V + 'n_unlabelled': 5}), 2, 'source.vision.n_unlabelled: unknown key'),
    ('nlp max_length 2', lambda d: ckpt_cfg(d, method='calm', source={'nlp': {'tasks': ['SST-2'], 'max_length': 2}}), 2, 'source.nlp.max_length: expected greater than or equal to 8'),
    ('unknown registry task', lambda d: vis_cfg(d, source__vision__tasks=['MNSIT']), 2, "unknown task 'MNSIT'; did you mean MNIST"),
    ('task names repeat', lambda d: vis_cfg(d, source__vision__tasks=['colors', {'name': 'Colors', 'classes': ['a', 'b']}]), 2, "task names repeat"),
    ('task unknown key', lambda d: vis_cfg(d, **{T0 + 'clases': ['a', 'b']}), 2, 'source.vision.tasks.0.clases: unknown key'),
    ('task one class', lambda d: vis_cfg(d, **{T0 + 'classes': ['a']}), 2, 'source.vision.tasks.0.classes: expected at least 2 items'),
    ('task classes string', lambda d: vis_cfg(d, **{T0 + 'classes': 'red green'}), 2, 'source.vision.tasks.0.classes: expected a valid list'),
    ('task template no slot', lambda d: vis_cfg(d, **{T0 + 'templates': ['a photo']}), 2, "every template needs exactly one '{}'"),
    ('task template two slots', lambda d: vis_cfg(d, **{T0 + 'templates': ['{} {}']}), 2, "every template needs exactly one '{}'"),
    ('task splits unknown role', lambda d: vis_cfg(d, **{T0 + 'splits': {'test': 'test'}}), 2, 'source.vision.tasks.0.splits.test: unknown key'),
    ('vision head own', lambda d: vis_cfg(d, **{T0 + 'head': 'own'}), 2, "head 'own' is for NLP tasks"),
    ('vision two inputs', lambda d: vis_cfg(d, **{T0 + 'input': ['a', 'b']}), 2, 'a vision task reads one image column'),
    ('nlp task no classes', lambda d: ckpt_cfg(d, method='calm', source={'nlp': {'tasks': [{'name': 'reviews', 'input': 'text'}]}}), 2, 'task reviews: give `classes`'),
    ('nlp task templates', lambda d: ckpt_cfg(d, method='calm', source={'nlp': {'tasks': [{'name': 'r', 'classes': ['a', 'b'], 'templates': ['{}']}]}}), 2, 'templates are for vision'),
    ('nlp three inputs', lambda d: ckpt_cfg(d, method='calm', source={'nlp': {'tasks': [{'name': 'r', 'classes': ['a', 'b'], 'input': ['a', 'b', 'c']}]}}), 2, 'input takes one text column or two'),
    ('loader typo', lambda d: vis_cfg(d, **{T0 + 'data': {'loader': 'imagefoldr', 'data_dir': 'x'}}), 2, "source.vision.tasks.0.data.loader: expected 'csv'"),
    ('data source unknown key', lambda d: vis_cfg(d, **{T0 + 'data': {'loader': 'csv', 'files': 'x'}}), 2, 'source.vision.tasks.0.data.files: unknown key'),
    ('datasets key typo', lambda d: vis_cfg(d, **{V + 'datasets': {'colours': str(d / 'data/colors')}}), 2, "source.vision.datasets: names a task 'colours' that is not among the tasks ['colors', 'shapes']; did you mean 'colors'?"),
    ('finetuned key typo', lambda d: vis_cfg(d, **{V + 'finetuned': {'shape': 'x.pt'}}), 2, "source.vision.finetuned: names a task 'shape'"),
    ('labelled method, n_train 0', lambda d: vis_cfg(d, 'localize_stitch', **{V + 'n_train': 0}), 2, 'localize_stitch needs labelled training examples'),
    # files and data, found when the run reads them
    ('missing checkpoint', lambda d: ckpt_cfg(d, source__checkpoints__finetuned__t1=str(d / 'nope.safetensors')), 2, 'nope.safetensors does not exist'),
    ('corrupt checkpoint', lambda d: ckpt_cfg(d, source__checkpoints__finetuned__t1=str(d / 'corrupt.safetensors')), 2, 'corrupt.safetensors'),
    ('truncated checkpoint', lambda d: ckpt_cfg(d, source__checkpoints__finetuned__t1=str(d / 'truncated.safetensors')), 2, 'truncated.safetensors'),
    ('empty checkpoint', lambda d: ckpt_cfg(d, source__checkpoints__finetuned__t1=str(d / 'empty.pt')), 2, 'empty.pt'),
    ('not a state dict', lambda d: ckpt_cfg(d, source__checkpoints__finetuned__t1=str(d / 'list.pt')), 2, 'list.pt'),
    ('wrong shape', lambda d: ckpt_cfg(d, source__checkpoints__finetuned__t1=str(d / 'shape.safetensors')), 2, "tensor 'l1.weight': pretrained has shape"),
    ('wrong keys', lambda d: ckpt_cfg(d, source__checkpoints__finetuned__t1=str(d / 'keys.safetensors')), 2, 'l2.weight'),
    ('NaN weights', lambda d: ckpt_cfg(d, source__checkpoints__finetuned__t1=str(d / 'nan.safetensors')), 2, "tensor 'l1.weight' of"),
    ('inf weights', lambda d: ckpt_cfg(d, source__checkpoints__finetuned__t1=str(d / 'inf.safetensors')), 2, 'non-finite'),
    ('missing pretrained', lambda d: ckpt_cfg(d, source__checkpoints__pretrained=str(d / 'nopre.safetensors')), 2, 'nopre.safetensors does not exist'),
    ('image folder missing', lambda d: vis_cfg(d, **{T0 + 'data': {'loader': 'imagefolder', 'data_dir': str(d / 'data/colours')}}), 2, 'task colors: data folder'),
    ('csv file missing', lambda d: vis_cfg(d, **{T0 + 'data': {'loader': 'csv', 'data_files': {'train': str(d / 'data/csv/trian.csv')}}}), 2, 'task colors: data file'),
    ('save_to_disk missing', lambda d: vis_cfg(d, **{T0 + 'data': str(d / 'data/nodisk')}), 2, 'task colors: dataset folder'),
    ('hub id is a local path', lambda d: vis_cfg(d, **{T0 + 'data': {'loader': 'hub', 'path': str(d / 'data/colors')}}), 2, 'is a local path; give it with loader save_to_disk'),
    ('no eval split', lambda d: vis_cfg(d, **{T0 + 'data': {'loader': 'imagefolder', 'data_dir': str(d / 'data/notest')}}), 2, "has no 'test' split (it has ['train'])"),
    ('eval split renamed wrong', lambda d: vis_cfg(d, **{T0 + 'splits': {'eval': 'validation'}}), 2, "has no 'validation' split"),
    ('image column wrong', lambda d: vis_cfg(d, **{T0 + 'input': 'img'}), 2, "has no column 'img' (it has image, label)"),
    ('label column wrong', lambda d: vis_cfg(d, **{T0 + 'label': 'class'}), 2, "has no column 'class'"),
    ('labels not among classes', lambda d: vis_cfg(d, **{T0 + 'classes': ['a', 'b']}), 2, "classes ['a', 'b'] do not match the folder names"),
    ('csv without image column', lambda d: vis_cfg(d, **{T0 + 'classes': ['a', 'b'], T0 + 'data': {'loader': 'csv', 'data_files': {'train': str(d / 'data/csv/train.csv'), 'test': str(d / 'data/csv/train.csv')}}}), 2, "has no column 'image' (it has text, label)"),
    ('int labels without classes', lambda d: vis_cfg(d, **{T0 + 'data': {'loader': 'csv', 'data_files': {'train': str(d / 'data/csv/train.csv'), 'test': str(d / 'data/csv/train.csv')}}}), 2, "colors: give `classes`: the label column 'label'"),
    ('unlabeled from test split', lambda d: vis_cfg(d, **{V + 'unlabeled_split': 'test'}), 2, "colors: unlabeled_split='test' is the evaluation split"),
    ('no fine-tuned checkpoint', lambda d: vis_cfg(d, **{V + 'checkpoints': None}), 2, 'no fine-tuned checkpoint for colors'),
    ('task folder missing in layout', lambda d: vis_cfg(d, **{V + 'tasks__1': {'name': 'sizes', 'classes': ['s', 'l'], 'data': {'loader': 'imagefolder', 'data_dir': str(d / 'data/shapes')}}}), 2, 'sizes/finetuned.pt'),
    ('head checkpoint missing', lambda d: vis_cfg(d, **{T0 + 'head': str(d / 'nohead.safetensors')}), 2, 'nohead.safetensors'),
    ('head checkpoint wrong classes', lambda d: vis_cfg(d, **{T0 + 'head': str(d / 'pre.safetensors')}), 2, "head checkpoint"),
    ('model_config missing', lambda d: vis_cfg(d, **{V + 'model_config': str(d / 'model_configs/nope.json')}), 2, 'source.vision.model_config:'),
    ('model_config other name', lambda d: vis_cfg(d, **{V + 'model_config': str(d / 'model_configs/mine.json')}), 2, "defines 'mine' (open_clip names a config by its file stem)"),
    ('model_config broken json', lambda d: vis_cfg(d, **{V + 'model_config': str(d / 'model_configs/broken.json'), V + 'model': 'broken'}), 2, 'is not valid JSON'),
    ('unknown open_clip model', lambda d: vis_cfg(d, **{V + 'model': 'ViT-Q-99'}), 2, "unknown open_clip model 'ViT-Q-99'"),
    # output folders
    ('output is a file', lambda d: ckpt_cfg(d, out=str(d / 'pre.safetensors')), 2, 'is a file'),
    ('output under a file', lambda d: ckpt_cfg(d, out=str(d / 'pre.safetensors' / 'sub')), 2, 'cannot create the output folder'),
    ('output occupied', lambda d: ckpt_cfg(d, out=str(d / 'occupied')), 3, 'is not empty and holds no calm_nb run'),
]


@pytest.mark.parametrize('route', ['cli', 'api'])
@pytest.mark.parametrize('label,build,want,fragment', CASES, ids=[c[0] for c in CASES])
def test_bad_input(F, route, label, build, want, fragment):
    cfg = build(F)
    out = Path(cfg.get('out', F / 'runs' / 'none'))
    before = {p: p.stat().st_mtime_ns for p in out.rglob('*')} if out.is_dir() else {}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        if route == 'cli':
            (F / 'case.yaml').write_text(yaml.safe_dump(cfg))
            code, _, err = _main(['merge', '--config', str(F / 'case.yaml'), '--quiet', '--overwrite'] if label != 'output occupied' else ['merge', '--config', str(F / 'case.yaml'), '--quiet'])
            assert code == want, (code, err)
            assert err.startswith('calm_nb: error: ') and err.count('\n') == 1 and 'Traceback' not in err, err
            assert fragment in err, err
        else:
            with pytest.raises(Exception) as ei: run(cfg, overwrite=label != 'output occupied', progress=False, say=lambda m: None)
            e = ei.value
            assert isinstance(e, cli._BAD_INPUT) or isinstance(e, cli.OutputExistsError) or (isinstance(e, OSError) and e.errno), repr(e)
            msg = str(e.args[0]) if isinstance(e, KeyError) else str(e)
            assert fragment in msg and '\n' not in msg.strip(), msg
    if out.is_dir():   # nothing half-written, nothing of someone else's lost
        assert not [p for p in out.rglob('*.tmp')], list(out.rglob('*'))
        assert not (out / 'merged.safetensors').exists()
        for p, t in before.items():
            if p.name not in ('config.yaml', 'run.json', 'log.txt', '.lock') and p.parent == out and label == 'output occupied': assert p.exists() and p.stat().st_mtime_ns == t


def test_case_count():
    assert len(CASES) * 2 >= 100, len(CASES)


# run folders: locks, full disks, permissions, metadata kept on failure, byte-identical results, recorded inputs
def test_live_run_lock_refuses_resume_and_overwrite(F):
    cfg = ckpt_cfg(F, out=str(F / 'runs' / 'live'))
    assert _main(['merge', '--config', _yaml(F, cfg), '--quiet'])[0] == 0
    before = {p.name: p.read_bytes() for p in (F / 'runs/live').iterdir() if p.is_file()}
    lock = RunLock(F / 'runs/live').acquire()   # "another process" holds the folder (flock is per open file, so this stands in for one)
    try:
        for flag in ('--resume', '--overwrite'):
            code, _, err = _main(['merge', '--config', _yaml(F, cfg), '--quiet', flag])
            assert code == 3 and 'is in use by a live run (pid' in err and err.count('\n') == 1, err
        with pytest.raises(cli.OutputExistsError, match='in use by a live run'): run(cfg, overwrite=True, progress=False, say=lambda m: None)
    finally: lock.release()
    assert {p.name: p.read_bytes() for p in (F / 'runs/live').iterdir() if p.is_file() and p.name != '.lock'} == {k: v for k, v in before.items() if k != '.lock'}
    assert _main(['merge', '--config', _yaml(F, cfg), '--quiet', '--overwrite'])[0] == 0   # released: runs again


def _yaml(F, cfg, name='case2.yaml'):
    (F / name).write_text(yaml.safe_dump(cfg)); return str(F / name)


def test_disk_full_exits_2_and_keeps_run_metadata(F, monkeypatch):
    import safetensors.torch as sft
    from safetensors import SafetensorError
    def full(*a, **k): raise SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No space left on device" })')
    monkeypatch.setattr(sft, 'save_file', full)
    cfg = ckpt_cfg(F, out=str(F / 'runs' / 'full'))
    code, _, err = _main(['merge', '--config', _yaml(F, cfg), '--quiet'])
    assert code == 2 and 'No space left on device' in err and 'merged.safetensors' in err, err
    doc = json.loads((F / 'runs/full/run.json').read_text())
    assert doc['status'] == 'failed' and doc['method'] == 'ties_merging' and doc['started'] and doc['versions'] and len(doc['inputs']) == 4
    assert not list((F / 'runs/full').glob('*.tmp')) and not (F / 'runs/full/merged.safetensors').exists()


def test_permission_denied_exits_2(F):
    if os.geteuid() == 0: pytest.skip('root writes anywhere')
    ro = F / 'readonly'; ro.mkdir(exist_ok=True); ro.chmod(0o500)
    try:
        code, _, err = _main(['merge', '--config', _yaml(F, ckpt_cfg(F, out=str(ro / 'r'))), '--quiet'])
        assert code == 2 and str(ro) in err, err
    finally: ro.chmod(0o700)


def test_permission_denied_on_existing_folder_exits_2(F, monkeypatch):
    real = os.access
    monkeypatch.setattr(os, 'access', lambda p, m: False if str(p).endswith('noperm') else real(p, m))
    (F / 'runs/noperm').mkdir(parents=True, exist_ok=True)
    code, _, err = _main(['merge', '--config', _yaml(F, ckpt_cfg(F, out=str(F / 'runs/noperm'))), '--quiet'])
    assert code == 2 and 'cannot write to the output folder' in err and 'noperm' in err, err


def test_outputs_respect_umask_and_resume_is_byte_identical(F):
    import hashlib
    old = os.umask(0o022)
    try:
        a = ckpt_cfg(F, out=str(F / 'runs/u1')); b = ckpt_cfg(F, out=str(F / 'runs/u2'))
        assert _main(['merge', '--config', _yaml(F, a), '--quiet'])[0] == 0 and _main(['merge', '--config', _yaml(F, b), '--quiet'])[0] == 0
    finally: os.umask(old)
    for n in ('merged.safetensors', 'run.json', 'config.yaml'): assert (F / 'runs/u1' / n).stat().st_mode & 0o777 == 0o644, n
    h = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()
    assert h(F / 'runs/u1/merged.safetensors') == h(F / 'runs/u2/merged.safetensors')   # the run folder's path is not in the file
    doc = json.loads((F / 'runs/u1/run.json').read_text())
    assert [i['sha256'] for i in doc['inputs']][0] == h(F / 'pre.safetensors') and doc['tasks'] == ['t0', 't1', 't2']


def test_pickled_task_vector_folder_merges_the_image_tower_only(F):
    cfg = {'method': 'ties_merging', 'source': {'checkpoints': {'checkpoints': str(F / 'ckpt')}}, 'out': str(F / 'runs/tv')}
    assert _main(['merge', '--config', _yaml(F, cfg), '--quiet'])[0] == 0
    from calm_nb.io import load_state_dict
    import open_clip
    from calm_nb.zoo import register_zoo_model
    merged = load_state_dict(F / 'runs/tv/merged.safetensors')
    clip = open_clip.create_model(register_zoo_model(), pretrained=None)
    clip.visual.load_state_dict(merged, strict=True)   # keys of the tower, nothing of the text side
    assert json.loads((F / 'runs/tv/run.json').read_text())['tasks'] == ['colors', 'shapes']   # names from <Task>/finetuned.pt
    cfg['source'] = {'checkpoints': {'pretrained': str(F / 'ckpt/zeroshot.pt'), 'finetuned': [str(F / 'ckpt/colors/finetuned.pt'), str(F / 'ckpt/shapes/finetuned.pt')]}}
    cfg['out'] = str(F / 'runs/tv2')
    assert _main(['merge', '--config', _yaml(F, cfg), '--quiet'])[0] == 0
    assert json.loads((F / 'runs/tv2/run.json').read_text())['tasks'] == ['colors', 'shapes']


# sanity warnings: on by default, in the log always, quiet with --quiet
@pytest.mark.parametrize('case,fragment', [
    ('zero', 'its task vector is zero'), ('scaled', "tensor 'l2.weight' changed"),
])
def test_sanity_warnings(F, case, fragment):
    fts = {'t0': str(F / 'ft0.safetensors'), 't1': str(F / ('pre.safetensors' if case == 'zero' else 'scaled.safetensors')), 't2': str(F / 'ft2.safetensors')}
    cfg = ckpt_cfg(F, source__checkpoints__finetuned=fts, out=str(F / 'runs' / f'w_{case}'))
    code, out, err = _main(['merge', '--config', _yaml(F, cfg), '--overwrite'])
    assert code == 0 and fragment in out and 't1' in out, out
    code, out, err = _main(['merge', '--config', _yaml(F, cfg), '--overwrite', '--quiet'])
    assert code == 0 and out == '' and err == '', (out, err)
    assert fragment in (F / 'runs' / f'w_{case}' / 'log.txt').read_text()


def test_calm_empty_s_and_one_class_eval_warn(F):
    from calm_nb.models import from_modules
    cfg = vis_cfg(F, hparams={'iterations': 1, 'batch_size': 4, 'n_seq': 2}, out=str(F / 'runs/empty_s'))
    code, out, err = _main(['merge', '--config', _yaml(F, cfg), '--overwrite'])
    assert code == 0 and 'leaves the task-arithmetic set S empty' in out, (out, err)
    import torch.nn as nn
    from calm_nb.core import SanityWarning, sanity_warnings
    from calm_nb.benchmark import TaskData
    x = torch.randn(6, 4)
    one = TaskData('t', ['a', 'b'], x, torch.zeros(6, dtype=torch.long), x, torch.zeros(6, dtype=torch.long), x, torch.tensor([0, 1] * 3))
    bench = type('B', (), {'tasks': [one]})()
    with pytest.warns(SanityWarning, match='the unlabeled data hold one class only'): sanity_warnings({}, [], bench=bench)


def test_streamed_whole_clip_safetensors_are_cut_to_the_tower(F):
    "A data-free merge streamed from whole-CLIP safetensors files reads only the image tower, lazily, and equals the in-memory merge."
    from calm_nb.io import LazySafetensors, load_state_dict
    from calm_nb.models import load_checkpoint
    from calm_nb.registry import merge
    from calm_nb.runs import build_source
    for n, src in (('pre', 'ckpt/zeroshot.pt'), ('a', 'ckpt/colors/finetuned.pt'), ('b', 'ckpt/shapes/finetuned.pt')):
        save_state_dict(load_checkpoint(F / src), F / f'clip_{n}.safetensors')
    source = {'checkpoints': {'pretrained': str(F / 'clip_pre.safetensors'), 'finetuned': {'a': str(F / 'clip_a.safetensors'), 'b': str(F / 'clip_b.safetensors')}}}
    _, (pre_l, fts_l, names) = build_source(source, stream_chunk=1000)
    _, (pre_m, fts_m, _) = build_source(source)
    assert isinstance(pre_l, LazySafetensors) and not any('visual' in k or 'token_embedding' in k for k in pre_l)
    assert sorted(pre_l) == sorted(pre_m)
    streamed = merge('ties_merging', pre_l, fts_l, chunk_size=1000); in_memory = merge('ties_merging', pre_m, fts_m)
    for k in in_memory: assert torch.equal(streamed[k], in_memory[k]), k
