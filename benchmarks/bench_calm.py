"""CALM's mask-optimisation iteration, timed side by side against (a) a plain forward+backward of the same model on
the same batches and (b) a straightforward implementation of the reference code's loop (per-parameter Python loops,
the merged model rebuilt with setattr for every batch, gradients copied per batch).

Model: a randomly initialised open_clip ViT-B/32 image tower (88 M parameters, no download), CPU by default.

    python benchmarks/bench_calm.py                      # batch 8, 2 visible tasks x 2 batches, 3 timed iterations
    python benchmarks/bench_calm.py --batch 16 --iters 5
"""
import argparse, os, time
import torch, torch.nn as nn, torch.nn.functional as F


def hwm_mb():
    for l in open('/proc/self/status'):
        if l.startswith('VmHWM'): return int(l.split()[1]) / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default='ViT-B-32'); ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--iters', type=int, default=3); ap.add_argument('--threads', type=int, default=os.cpu_count())
    a = ap.parse_args()
    torch.set_num_threads(a.threads); torch.manual_seed(0)
    import logging, open_clip
    logging.disable(logging.WARNING)
    from calm_nb.zoo import MergeBenchmark, TaskData
    from calm_nb.methods.calm import run_calm
    visual = open_clip.create_model(a.model, pretrained=None).visual.eval()
    pre = {k: v.detach().clone() for k, v in visual.state_dict().items()}
    fts = [{k: v + 1e-3 * torch.randn_like(v) if v.is_floating_point() else v for k, v in pre.items()} for _ in range(2)]
    n, C, size = 4 * a.batch, 10, visual.image_size[0]
    heads = [nn.Linear(visual.output_dim, C).requires_grad_(False) for _ in range(2)]
    x = [torch.randn(n, 3, size, size) for _ in range(2)]
    y = [torch.randint(C, (n,)) for _ in range(2)]
    tasks = [TaskData(f't{i}', [str(c) for c in range(C)], x[i], y[i], x[i], y[i], x[i][:8], y[i][:8]) for i in range(2)]
    bench = MergeBenchmark('bench', visual.requires_grad_(False), pre, fts, heads, tasks)
    batches = [(t, torch.arange(b * a.batch, (b + 1) * a.batch)) for t in range(2) for b in range(2)]  # 2 visible tasks x 2 batches
    print(f'{a.model} image tower, {sum(p.numel() for p in visual.parameters()):,} parameters; {len(batches)} batches of {a.batch} per iteration; {a.threads} threads')

    # (a) plain forward + backward of the same model on the same batches
    plain = visual.requires_grad_(True)
    def plain_step():
        for t, idx in batches:
            F.cross_entropy(heads[t](plain(x[t][idx])), y[t][idx]).backward()
        plain.zero_grad(set_to_none=True)
    plain_step()
    t0 = time.perf_counter()
    for _ in range(a.iters): plain_step()
    plain_s = (time.perf_counter() - t0) / a.iters
    plain.requires_grad_(False)

    # (b) calm_nb: the credible sets are all samples here; time run_calm's iterations (warm-up excluded by differencing)
    kw = dict(seq_tasks=['t1'], lam=0.3, ratio=1.0, batch_size=a.batch, batches_per_task=2, progress=False)
    t0 = time.perf_counter(); run_calm(bench, iterations=1, **kw); one = time.perf_counter() - t0
    t0 = time.perf_counter(); run_calm(bench, iterations=1 + a.iters, **kw); many = time.perf_counter() - t0
    calm_s = (many - one) / a.iters
    calm_peak = hwm_mb()

    # (c) a straightforward implementation of the reference loop
    names = [k for k, v in pre.items() if v.is_floating_point()]
    taus = [[f[k] - pre[k] for k in names] for f in fts]
    prev = [0.3 * t for t in taus[0]]; tj = taus[1]
    R = [torch.where(t.abs() >= t.abs().max(), 5.0, -5.0) for t in tj]
    def set_attr(obj, parts, val):
        for p in parts[:-1]: obj = getattr(obj, p)
        delattr(obj, parts[-1]) if parts[-1] in obj._parameters else None
        setattr(obj, parts[-1], val)
    model = open_clip.create_model(a.model, pretrained=None).visual.eval()
    def reference_step():
        total = None
        for t, idx in batches:
            params = [nn.Parameter(pre[k] + (1 - torch.sigmoid(r)) * p + torch.sigmoid(r) * q) for k, r, p, q in zip(names, R, prev, tj)]
            for k, p in zip(names, params): set_attr(model, k.split('.'), p)
            F.cross_entropy(heads[t](model(x[t][idx])), y[t][idx]).backward()
            g = [p.grad.detach().clone() for p in params]
            g = [-gi * p + gi * q for gi, p, q in zip(g, prev, tj)]
            total = [1e7 * gi for gi in g] if total is None else [s + 1e7 * gi for s, gi in zip(total, g)]
        with torch.no_grad():
            for r, gi in zip(R, total):
                d = torch.sigmoid(r) * (1 - torch.sigmoid(r)); r -= gi * d - torch.where(r > 0, d, -d)
    reference_step()
    t0 = time.perf_counter()
    for _ in range(a.iters): reference_step()
    ref_s = (time.perf_counter() - t0) / a.iters
    print(f"{'':<34}{'s/iteration':>12}")
    print(f"{'plain forward+backward':<34}{plain_s:12.2f}")
    print(f"{'calm_nb CALM iteration':<34}{calm_s:12.2f}   ratio to plain: {calm_s / plain_s:.2f}")
    print(f"{'reference-style loop':<34}{ref_s:12.2f}   calm_nb speed-up: {ref_s / calm_s:.2f}x")
    print(f'peak resident memory after the calm_nb runs: {calm_peak:.0f} MB (model {4 * sum(v.numel() for v in pre.values()) / 2**20:.0f} MB per copy)')


if __name__ == '__main__':
    main()
