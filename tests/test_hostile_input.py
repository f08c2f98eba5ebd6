"""Issue 27: no file handed to calm_nb runs code, and each new kind of bad input ends in one line (or a warning), through the
command line (`calm_nb merge`, in-process: exit code and stderr) and the Python API (the exception or the warning).

Planted pickles carry a marker command; the tests check that the marker file never appears. Cases that could hang (a FIFO,
/dev/zero) run under a timeout."""
import json, os, pickle, signal, subprocess, warnings
from pathlib import Path

import pytest
import torch
import yaml

from calm_nb.core import MergeInputError, SanityWarning
from calm_nb.fixtures import run_cli
from calm_nb.io import save_state_dict
from calm_nb.models import load_checkpoint
from calm_nb.runs import run, load_config
from calm_nb.schema import ConfigError


class OsSystem:   # what an attacker's pickle asks for: os.system(...) (torch refuses the module outright)
    def __init__(self, marker): self.marker = marker
    def __reduce__(self): return (os.system, (f'touch {self.marker}',))


class Subprocess:  # a callable torch does not block by module: calm_nb's stub refuses the call
    def __init__(self, marker): self.marker = marker
    def __reduce__(self): return (subprocess.check_call, (['touch', str(self.marker)],))


def _net(seed, base=None, scale=0.01, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    if base is None: return {'l1.weight': torch.randn(16, 8, generator=g).to(dtype), 'l2.weight': torch.randn(4, 16, generator=g).to(dtype)}
    return {k: (v.float() + scale * torch.randn(v.shape, generator=g)).to(dtype) for k, v in base.items()}


class Hang(Exception): pass

@pytest.fixture(autouse=True)
def no_alarm():
    def hang(*a): raise Hang('timed out: calm_nb hung on this input')
    old = signal.signal(signal.SIGALRM, hang)
    yield
    signal.alarm(0); signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope='module')
def D(tmp_path_factory):
    d = tmp_path_factory.mktemp('hostile')
    os.environ['CALM_NB_CACHE'] = str(d / 'cache')
    pre = _net(0); save_state_dict(pre, d / 'pre.safetensors')
    for i in range(2): save_state_dict(_net(i + 1, pre), d / f'ft{i}.safetensors')
    return d


def merge_cli(D, *finetuned, extra=(), out='run', pretrained=None):
    "`calm_nb merge` on checkpoint files, in-process; (exit code, stdout, stderr)."
    return run_cli(['merge', '--method', 'task_arithmetic', '--pretrained', str(pretrained or D / 'pre.safetensors'),
                    '--finetuned', *map(str, finetuned), '--out', str(D / 'runs' / out), '--overwrite', '--quiet', *extra])


def one_line(result, want_code, fragment):
    code, _, err = result
    assert code == want_code, (code, err)
    assert err.startswith('calm_nb: error: ') and err.count('\n') == 1 and 'Traceback' not in err and 'internal error' not in err, err
    assert fragment in err, err


# ---- no code from any file ------------------------------------------------------------------------------------------------

def test_planted_pickles_run_nothing_through_load_checkpoint_and_merge(D):
    marker = D / 'marker'
    torch.save(_net(1, _net(0)) | {'x': OsSystem(marker)}, D / 'evil_os.pt')
    torch.save(_net(1, _net(0)) | {'x': Subprocess(marker)}, D / 'evil_sub.pt')
    (D / 'evil_bare.pkl').write_bytes(pickle.dumps(Subprocess(marker)))
    with pytest.raises(MergeInputError, match='asks for posix.system, which is never resolved'): load_checkpoint(D / 'evil_os.pt')
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always'); sd = load_checkpoint(D / 'evil_sub.pt')
    assert set(sd) == {'l1.weight', 'l2.weight'} and any('refused 1 call' in str(x.message) for x in w)
    with pytest.raises(MergeInputError, match="not in torch's zip format"): load_checkpoint(D / 'evil_bare.pkl')
    one_line(merge_cli(D, D / 'ft0.safetensors', D / 'evil_os.pt'), 2, 'evil_os.pt could not be read without running code')
    one_line(merge_cli(D, D / 'ft0.safetensors', D / 'evil_bare.pkl'), 2, "evil_bare.pkl is a pickle that is not in torch's zip format")
    code, _, err = merge_cli(D, D / 'ft0.safetensors', D / 'evil_sub.pt')   # the tensors are read, the call is refused and named
    assert code == 0, err
    assert not marker.exists()


def test_planted_calm_resume_checkpoint_runs_nothing(D, capsys):
    from calm_nb.zoo import toy_digits
    from calm_nb.methods.calm import run_calm, CalmInterrupted
    marker = D / 'calm_marker'
    bench = toy_digits()
    kw = dict(iterations=3, batch_size=16, lr=1e3, progress=False, checkpoint_every=1)
    out = D / 'calm_run'
    with pytest.raises(CalmInterrupted): run_calm(bench, out_dir=out, _stop_after=2, **kw)
    (ckpt,) = out.glob('calm_checkpoint_*.safetensors')
    torch.save({'x': OsSystem(marker), 'y': Subprocess(marker)}, ckpt)          # a planted pickle under the checkpoint's name
    with warnings.catch_warnings():
        warnings.simplefilter('ignore'); res = run_calm(bench, out_dir=out, **kw)
    assert not marker.exists() and res.state_dict
    assert 'is unreadable' in capsys.readouterr().out


# ---- paths that would hang or mislead --------------------------------------------------------------------------------------

@pytest.mark.parametrize('kind,fragment', [('fifo', 'is a FIFO (named pipe), not a regular file'), ('devzero', 'is a character device'),
                                           ('loop', 'is a symlink loop'), ('folder', 'has neither model.safetensors nor pytorch_model.bin'),
                                           ('sharded', 'is sharded (model.safetensors.index.json)')])
def test_special_paths_one_line_no_hang(D, kind, fragment):
    p = D / f'special_{kind}'
    if kind == 'fifo' and not p.exists(): os.mkfifo(p)
    if kind == 'devzero': p = Path('/dev/zero')
    if kind == 'loop' and not p.is_symlink(): os.symlink(D / 'loop_b', p); os.symlink(p, D / 'loop_b')
    if kind in ('folder', 'sharded'):
        p.mkdir(exist_ok=True); (p / 'config.json').write_text('{}')
        if kind == 'sharded': (p / 'model.safetensors.index.json').write_text('{}')
    signal.alarm(60)   # a hang fails the test instead of the suite
    one_line(merge_cli(D, D / 'ft0.safetensors', p), 2, fragment)
    with pytest.raises(MergeInputError, match=fragment.replace('(', r'\(').replace(')', r'\)')): load_checkpoint(p)


def test_hugging_face_folder_and_module_prefix(D):
    hf = D / 'hf_model'; hf.mkdir(exist_ok=True)
    save_state_dict(_net(3, _net(0)), hf / 'model.safetensors')
    code, _, err = merge_cli(D, D / 'ft0.safetensors', hf)
    assert code == 0, err
    torch.save({'module.' + k: v for k, v in _net(4, _net(0)).items()}, D / 'ddp.pt')
    one_line(merge_cli(D, D / 'ft0.safetensors', D / 'ddp.pt'), 2, "its keys carry an extra 'module.' prefix (DistributedDataParallel): strip it")
    assert set(load_checkpoint(D / 'ddp.pt', strip_prefix='module.')) == {'l1.weight', 'l2.weight'}


@pytest.mark.parametrize('kind', ['sparse', 'float8'])
def test_sparse_and_float8_refused(D, kind):
    sd = _net(5, _net(0))
    sd['l1.weight'] = sd['l1.weight'].to_sparse() if kind == 'sparse' else sd['l1.weight'].to(torch.float8_e4m3fn)
    torch.save(sd, D / f'{kind}.pt')
    one_line(merge_cli(D, D / 'ft0.safetensors', D / f'{kind}.pt'), 2, "['l1.weight'] is " + ('a sparse tensor' if kind == 'sparse' else 'float8'))


# ---- outputs that would be silently wrong ------------------------------------------------------------------------------------

def test_fp16_overflow_is_refused_and_nothing_written(D):
    pre = {'w': torch.full((8,), 60000., dtype=torch.float16)}
    save_state_dict(pre, D / 'pre16.safetensors')
    for i in range(2): save_state_dict({'w': torch.full((8,), 65000., dtype=torch.float16)}, D / f'ft16_{i}.safetensors')
    code, _, err = merge_cli(D, D / 'ft16_0.safetensors', D / 'ft16_1.safetensors', pretrained=D / 'pre16.safetensors',
                             extra=('--set', 'lam=20.0'), out='fp16')
    one_line((code, '', err), 2, "produced 8 non-finite value(s) (NaN/inf) in tensor 'w'")
    assert not (D / 'runs/fp16/merged.safetensors').exists()


def test_int8_differences_and_duplicate_inputs_warn(D):
    pre = _net(0) | {'q': torch.zeros(4, dtype=torch.int8)}
    save_state_dict(pre, D / 'pre8.safetensors')
    save_state_dict(_net(1, _net(0)) | {'q': torch.ones(4, dtype=torch.int8)}, D / 'ft8.safetensors')
    code, out, err = run_cli(['merge', '--method', 'task_arithmetic', '--pretrained', str(D / 'pre8.safetensors'), '--finetuned',
                              str(D / 'ft8.safetensors'), str(D / 'ft8.safetensors'), '--out', str(D / 'runs/int8'), '--overwrite'])
    assert code == 0, err
    assert 'non-floating-point tensor(s) differ between the models (q; torch.int8)' in out, out
    assert 'are the same file (identical SHA-256)' in out and 'are the same model' in out, out


def test_tiny_eval_split_warns():
    from calm_nb.core import sanity_warnings
    from calm_nb.zoo import toy_digits
    bench = toy_digits()
    t = bench.tasks[0]; t.x_test, t.y_test = t.x_test[:5], t.y_test[:5]
    with warnings.catch_warnings(record=True):
        warnings.simplefilter('always'); msgs = sanity_warnings(bench.pretrained, bench.finetuned, bench=bench)
    assert any('the evaluation split has only 5 examples' in m for m in msgs), msgs


# ---- ranges, messages, YAML --------------------------------------------------------------------------------------------------

def _cfg(D, **kw):
    return {'method': 'task_arithmetic', 'out': str(D / 'runs' / 'cfg'),
            'source': {'checkpoints': {'pretrained': str(D / 'pre.safetensors'), 'finetuned': [str(D / 'ft0.safetensors'), str(D / 'ft1.safetensors')]}}} | kw


@pytest.mark.parametrize('label,kw,fragment', [
    ('seed 2**64', {'seed': 2**64}, 'seed: expected less than 9223372036854775808'),
    ('hparam seed 2**64', {'method': 'dare', 'hparams': {'seed': 2**64}}, 'seed must be an integer in [0, 2**63)'),
    ('max_memory 0', {'max_memory': '0GB'}, "max_memory must be positive, got '0GB'"),
    ('max_memory negative', {'max_memory': -5}, 'max_memory must be positive, got -5'),
    ('long value truncated', {'max_memory': 'x' * 5000}, 'max_memory must look like 8GB or 512MB'),
])
@pytest.mark.parametrize('route', ['cli', 'api'])
def test_ranges(D, route, label, kw, fragment):
    cfg = _cfg(D, **kw)
    if route == 'cli':
        (D / 'r.yaml').write_text(yaml.safe_dump(cfg))
        code, _, err = run_cli(['merge', '--config', str(D / 'r.yaml'), '--quiet', '--overwrite'])
        one_line((code, '', err), 2, fragment); assert len(err) < 400, len(err)
    else:
        with pytest.raises(Exception) as e: run(cfg, overwrite=True, progress=False, say=lambda m: None)
        assert fragment in str(e.value) and len(str(e.value)) < 400, str(e.value)


def test_max_length_beyond_positions():
    from transformers import RobertaConfig
    from calm_nb.data import _check_max_length
    cfg = RobertaConfig(max_position_embeddings=514)
    assert _check_max_length(cfg, None) == 128 and _check_max_length(cfg, 512) == 512
    with pytest.raises(MergeInputError, match="max_length: 1000000000 is more than the model reads \\(512 tokens"): _check_max_length(cfg, 10**9)


@pytest.mark.parametrize('text,fragment', [
    ('method: ties_merging\nmethod: task_arithmetic\nout: x\n', "line 2: key 'method' appears twice in one mapping"),
    ('method: calm\nout: x\nsource:\n  vision:\n    tasks:\n    - name: t\n      classes: [no, yes]\n',
     'YAML reads unquoted no/yes/on/off/true/false as booleans: quote the value'),
    ('a: &a [x,x,x,x,x,x,x,x,x]\n' + ''.join(f'{chr(98 + i)}: &{chr(98 + i)} [' + ','.join([f'*{chr(97 + i)}'] * 9) + ']\n' for i in range(8)),
     'expands to more than 1,000,000 values'),
])
def test_yaml(D, text, fragment):
    (D / 'y.yaml').write_text(text)
    code, _, err = run_cli(['merge', '--config', str(D / 'y.yaml'), '--quiet'])
    one_line((code, '', err), 2, fragment); assert len(err) < 400, len(err)


# ---- resume, relative paths, resources ------------------------------------------------------------------------------------------

def test_resume_refuses_changed_inputs_and_reads_its_own_config(D):
    out = D / 'runs/resume'
    save_state_dict(_net(1, _net(0)), D / 'ftr.safetensors')
    cfg = _cfg(D, out=str(out)); cfg['source']['checkpoints']['finetuned'] = [str(D / 'ftr.safetensors'), str(D / 'ft1.safetensors')]
    (D / 'res.yaml').write_text(yaml.safe_dump(cfg))
    assert run_cli(['merge', '--config', str(D / 'res.yaml'), '--quiet', '--overwrite'])[0] == 0
    doc = json.loads((out / 'run.json').read_text()); doc['status'] = 'running'; (out / 'run.json').write_text(json.dumps(doc))   # as if killed
    code, out_, err = run_cli(['merge', '--resume', '--out', str(out)])   # no --config: the run folder's own config.yaml
    assert code == 0 and 'resuming task_arithmetic' in out_, (code, err)
    (out / 'run.json').write_text(json.dumps(doc))
    save_state_dict(_net(9, _net(0)), D / 'ftr.safetensors')          # an input changed between the kill and the resume
    one_line(run_cli(['merge', '--resume', '--out', str(out), '--quiet']), 2, f'--resume: input {D / "ftr.safetensors"} changed since the run')
    one_line(run_cli(['merge', '--resume', '--out', str(out), '--quiet']), 2, 'changed since the run')   # still refused on a second try


def test_resume_on_an_empty_folder_starts_anew(D):
    (D / 'runs/empty').mkdir(parents=True, exist_ok=True)
    (D / 'e.yaml').write_text(yaml.safe_dump(_cfg(D, out=str(D / 'runs/empty'))))
    code, out, err = run_cli(['merge', '--config', str(D / 'e.yaml'), '--resume'])
    assert code == 0 and 'nothing to resume there: starting anew' in out, (code, out, err)


def test_yaml_paths_resolve_relative_to_the_file_with_home_and_vars(D, monkeypatch, tmp_path):
    cfgdir = D / 'cfgdir'; cfgdir.mkdir(exist_ok=True)
    monkeypatch.setenv('CALM_NB_TEST_MODELS', str(D))
    (cfgdir / 'pre.safetensors').write_bytes((D / 'pre.safetensors').read_bytes())
    (cfgdir / 'rel.yaml').write_text('method: task_arithmetic\nout: ' + str(D / 'runs/rel') + '\nsource:\n  checkpoints:\n    pretrained: pre.safetensors\n'
                                     '    finetuned: [$CALM_NB_TEST_MODELS/ft0.safetensors, ../ft1.safetensors]\n')
    monkeypatch.chdir(tmp_path)   # somewhere else: the paths still resolve against the file's folder
    cfg = load_config(cfgdir / 'rel.yaml')
    assert cfg['source']['checkpoints']['pretrained'] == str(cfgdir / 'pre.safetensors')
    assert cfg['source']['checkpoints']['finetuned'] == [str(D / 'ft0.safetensors'), str(cfgdir / '../ft1.safetensors')]
    code, _, err = run_cli(['merge', '--config', str(cfgdir / 'rel.yaml'), '--quiet', '--overwrite'])
    assert code == 0, err


@pytest.mark.parametrize('exc,code_,fragment', [
    (OSError(28, 'No space left on device'), 2, 'free space, then run the same command --resume'),
    (MemoryError(), 4, 'out of memory (MemoryError: ); close other programs'),
    (RuntimeError("can't start new thread"), 2, 'could not start a thread'),
    (RuntimeError('[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can\'t allocate memory: you tried to allocate 1 bytes'), 4, 'out of memory'),
])
def test_resources_one_line_with_the_way_out(D, monkeypatch, exc, code_, fragment):
    import calm_nb.runs as runs
    def boom(*a, **k): raise exc
    monkeypatch.setattr(runs, 'merge', boom)
    one_line(merge_cli(D, D / 'ft0.safetensors', D / 'ft1.safetensors', out='res'), code_, fragment)


# ---- data: caches, images, encodings ----------------------------------------------------------------------------------------------

def test_unwritable_cache_goes_on_without_it(tmp_path, monkeypatch):
    import numpy as np
    import calm_nb.io as io
    def full(*a, **k): raise OSError(28, 'No space left on device')
    monkeypatch.setattr(io, 'atomic_write', full)
    with pytest.warns(UserWarning, match='going on without it'):
        out = io.array_cache('t', {'v': 1}, lambda: {'x': np.arange(3)}, root=tmp_path)
    assert out['x'].tolist() == [0, 1, 2]


def test_16_bit_images_are_scaled_not_saturated():
    import numpy as np
    from PIL import Image
    from calm_nb.data import to_8bit
    img = Image.fromarray(np.array([[0, 257, 32896, 65535]], dtype=np.uint16))
    assert img.mode.startswith('I')
    assert np.asarray(to_8bit(img)).tolist() == [[0, 1, 128, 255]]


def test_datasets_errors_show_their_cause(tmp_path):
    from calm_nb.data import load_data_source
    (tmp_path / 'train.csv').write_bytes('text,label\ncaf\xe9,0\nok,1\n'.encode('latin-1'))
    with pytest.raises(MergeInputError) as e:
        load_data_source({'loader': 'csv', 'data_files': {'train': str(tmp_path / 'train.csv')}}, ['train'], 'reviews')
    msg = str(e.value)
    assert msg.startswith('task reviews: could not read csv') and 'cause: ' in msg and 'the file is not UTF-8 text' in msg, msg


def test_undecodable_image_named_by_its_file(tmp_path):
    import types
    import datasets as hfd
    import numpy as np
    from PIL import Image
    from calm_nb.data import _images
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(tmp_path / 'ok.jpg')
    (tmp_path / 'cut.jpg').write_bytes((tmp_path / 'ok.jpg').read_bytes()[:200])   # a truncated JPEG
    split = hfd.Dataset.from_dict({'image': [str(tmp_path / 'ok.jpg'), str(tmp_path / 'cut.jpg')]}).cast_column('image', hfd.Image())
    task = types.SimpleNamespace(name='photos', image_key='image')
    to_uint8 = lambda img: __import__('torch').from_numpy(np.asarray(img.convert('RGB')).copy()).permute(2, 0, 1)
    with pytest.raises(MergeInputError, match=r'photos: image 1 \(.*cut\.jpg\) cannot be decoded'):
        _images(task, split, np.array([0, 1]), to_uint8, 'photos', False)
