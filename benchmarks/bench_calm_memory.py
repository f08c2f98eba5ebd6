"""Peak host memory of one CALM run against the number of tasks T (fresh process per run; Linux).

CALM keeps 6 P-sized buffers (θ_pre, τ⁽ʲ⁻¹⁾, d, R, θ and its flat gradient), not the [T, P] task-vector matrix,
plus the backward pass's largest single-tensor gradient, so its peak above the loaded models should not grow with T. Prints the peak beyond the process's resident memory once
the models are loaded, in units of P fp32 floats, for T = 4 and T = 8 side by side.

    python benchmarks/bench_calm_memory.py [--width 3072] [--repo PATH]
"""
import argparse, json, subprocess, sys, textwrap

CODE = textwrap.dedent('''
    import json, sys, torch, torch.nn as nn
    sys.path.insert(0, {repo!r})
    from calm_nb.zoo import MLPEncoder
    from calm_nb.benchmark import TaskData
    from calm_nb.models import from_modules
    from calm_nb.methods.calm import run_calm
    def rss(field):
        for l in open('/proc/self/status'):
            if l.startswith(field): return int(l.split()[1]) * 1024
    torch.manual_seed(0)
    enc = MLPEncoder(64, {width}, 2)
    fts = []
    for _ in range({T}):
        m = MLPEncoder(64, {width}, 2); m.load_state_dict(enc.state_dict())
        with torch.no_grad():
            for p in m.parameters(): p.add_(0.01 * torch.randn_like(p))
        fts.append(m)
    x = torch.randn(64, 64); y = torch.arange(64) % 2
    tasks = [TaskData(f't{{i}}', ['a', 'b'], x, y, x, y, x, y) for i in range({T})]
    b = from_modules('mem', enc, fts, [nn.Linear({width}, 2) for _ in range({T})], tasks)
    del fts
    P = sum(v.numel() for v in b.pretrained.values() if v.is_floating_point())
    open('/proc/self/clear_refs', 'w').write('5'); base = rss('VmRSS')
    run_calm(b, iterations=2, batch_size=16, n_seq=2, progress=False)
    print(json.dumps({{'T': {T}, 'P': P, 'extra_in_P_floats': (rss('VmHWM') - base) / (4 * P)}}))
''')

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('--width', type=int, default=3072); ap.add_argument('--repo', default='.')
    a = ap.parse_args()
    for T in (4, 8):
        r = subprocess.run([sys.executable, '-c', CODE.format(repo=a.repo, width=a.width, T=T)], capture_output=True, text=True,
                           env={'MALLOC_MMAP_THRESHOLD_': '131072', 'PATH': '/usr/bin:/bin', 'OMP_NUM_THREADS': '2'})
        if r.returncode: sys.exit(r.stderr[-2000:])
        d = json.loads(r.stdout.strip().splitlines()[-1])
        print(f"T = {d['T']}: P = {d['P'] / 1e6:.1f} M, CALM's peak above the loaded models = {d['extra_in_P_floats']:.1f} · P floats")
