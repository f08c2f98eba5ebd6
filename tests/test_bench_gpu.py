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
