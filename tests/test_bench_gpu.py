"The GPU benchmark, run on the CPU at tiny sizes: it must finish and report every figure (the real run needs a lent GPU)."
import json, math, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_gpu_tiny(tmp_path):
    out = tmp_path / 'report.json'
    r = subprocess.run([sys.executable, str(ROOT / 'benchmarks' / 'bench_gpu.py'), '--tiny', '--out', str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    rep = json.loads(out.read_text())
    (run,) = rep['runs']
    for label in ('whole batch', 'T4 budget'):
        assert run[label]['plan'] > 0 and run[label]['seconds_per_iteration'] > 0
    assert math.isfinite(run['calm_over_plain']) and run['projected_full_run_seconds'] > 0
    assert 'CALM' in r.stdout and 'projected full run' in r.stdout


def test_bench_gpu_plans(tmp_path):
    out = tmp_path / 'plans.json'
    r = subprocess.run([sys.executable, str(ROOT / 'benchmarks' / 'bench_gpu.py'), '--plan-only', '--models', 'tiny', '--out', str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    plans = json.loads(out.read_text())['plans']
    assert {p['device'] for p in plans} == {'T4', 'A100-40GB'} and all(p['fits'] for p in plans)
    assert 'memory plan: calm on T4' in r.stdout


def test_gpu_check_rehearsed_on_the_cpu(tmp_path):
    "benchmarks/gpu_check.py at tiny shapes: both tutorials at SIZE='smoke' (three methods, CALM included) and bench_gpu, one JSON."
    out = tmp_path / 'check.json'
    r = subprocess.run([sys.executable, str(ROOT / 'benchmarks' / 'gpu_check.py'), '--tiny', '--rows', '400', '--work', str(tmp_path / 'work'),
                        '--out', str(out)], capture_output=True, text=True, timeout=900, env={**__import__('os').environ, 'CUDA_VISIBLE_DEVICES': ''})
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rep = json.loads(out.read_text())
    assert rep['shapes'] == 'tiny' and rep['device'] == 'cpu'
    clip, nlp = rep['tutorials']['clip_vit_b32'], rep['tutorials']['roberta_nlp']
    assert clip['tasks'] == 8 and nlp['tasks'] == 12
    for t in (clip, nlp):
        assert set(t['results']) == {'pretrained', 'individual', 'task_arithmetic', 'ties_merging', 'calm'}, t['results']
        assert t['seconds'] > 0 and t['host_peak_bytes'] > 0 and t['cells_skipped']   # the pip cell
    assert not (tmp_path / 'work' / 'clip_vit_b32' / 'runs' / 'per_task').exists()    # the smoke size stops after the table
    assert rep['bench_gpu']['runs'] and rep['seconds'] > 0


def test_colab_host_memory_projection(tmp_path):
    "The full-size host-memory projection of both tutorials: measured costs, under 12 GB; a split cached file-backed costs no anonymous memory per image."
    out = tmp_path / 'mem.json'
    r = subprocess.run([sys.executable, str(ROOT / 'benchmarks' / 'colab_host_memory.py'), '--images', '200', '--out', str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rep = json.loads(out.read_text())
    data = rep['data_path']
    assert data['per_example'] < 0.1 * data['image_bytes']                   # file-backed: no anonymous copy per image
    assert data['in_memory'] > 0.8 * data['n'] * data['image_bytes']         # the old way: the whole split in memory
    assert 3.9 < rep['bytes_per_parameter']['per_param'] < 4.3
    assert {p['tutorial'] for p in rep['projections']} == {'clip_vit_b32 (full)', 'roberta_nlp (full)'}
    assert all(p['total'] < 12e9 for p in rep['projections']) and 'projected host peak' in r.stdout
