"""Time calm_nb's vectorised data-free merging against a naive per-tensor Python loop, side by side in one run.

The models are T random perturbations of a randomly initialised open_clip ViT-B/32 image encoder (88 M parameters,
no download). Each method runs in a fresh process so its peak resident memory can be read from /proc (Linux).

    python benchmarks/bench_merge.py            # T=8, ViT-B/32 image encoder
    python benchmarks/bench_merge.py --tasks 4 --model ViT-B-16
"""
import argparse, json, os, subprocess, sys, textwrap

WORKER = textwrap.dedent('''
    import json, sys, time, torch, open_clip
    torch.set_num_threads(int(sys.argv[4]))
    kind, method, T = sys.argv[1], sys.argv[2], int(sys.argv[3])
    model_name = sys.argv[5]; chunk = None if sys.argv[6] == 'none' else int(sys.argv[6])
    def hwm():
        for l in open('/proc/self/status'):
            if l.startswith('VmHWM'): return int(l.split()[1]) * 1024
    torch.manual_seed(0)
    visual = open_clip.create_model(model_name, pretrained=None).visual
    pre = {k: v.detach().clone() for k, v in visual.state_dict().items()}
    fts = [{k: v + 1e-3 * torch.randn_like(v) if v.is_floating_point() else v.clone() for k, v in pre.items()} for _ in range(T)]
    P = sum(v.numel() for v in pre.values() if v.is_floating_point())

    def naive_ta(pre, fts, lam=0.3):
        out = {}
        for k in pre:
            if not pre[k].is_floating_point(): out[k] = pre[k].clone(); continue
            acc = torch.zeros_like(pre[k])
            for f in fts: acc += f[k] - pre[k]
            out[k] = pre[k] + lam * acc
        return out

    def naive_ties(pre, fts, k=0.2, lam=0.3):
        keys = [n for n in pre if pre[n].is_floating_point()]
        taus = [{n: f[n] - pre[n] for n in keys} for f in fts]
        thr = []
        for t in taus:  # global top-k threshold per task
            allabs = torch.cat([t[n].abs().reshape(-1) for n in keys])
            n_keep = round(k * allabs.numel())
            thr.append(torch.kthvalue(allabs, allabs.numel() - n_keep + 1).values)
        out = {}
        for n in keys:
            trimmed = [torch.where(t[n].abs() >= th, t[n], torch.zeros_like(t[n])) for t, th in zip(taus, thr)]
            gamma = torch.sign(sum(trimmed)); gamma[gamma == 0] = 1
            agree = [(x != 0) & (torch.sign(x) == gamma) for x in trimmed]
            num = sum(x * a for x, a in zip(trimmed, agree)); cnt = sum(a.float() for a in agree).clamp(min=1)
            out[n] = pre[n] + lam * num / cnt
        for n in pre:
            if n not in out: out[n] = pre[n].clone()
        return out

    def naive_consensus_ta(pre, fts, kk=2, tall_lam=0.4, lam=0.3):
        out = {}
        for n in pre:
            if not pre[n].is_floating_point(): out[n] = pre[n].clone(); continue
            taus = [f[n] - pre[n] for f in fts]
            mtl = sum(taus)
            cnt = sum((t.abs() >= tall_lam * (mtl - t).abs()).int() for t in taus)
            out[n] = pre[n] + lam * sum(t * (cnt >= kk) for t in taus)
        return out

    from calm_nb.registry import merge
    naive = {'task_arithmetic': naive_ta, 'ties_merging': naive_ties, 'consensus_ta': naive_consensus_ta}
    fn = naive[method] if kind == 'naive' else (lambda p, f: merge(method, p, f, chunk_size=chunk))
    fn(pre, fts[:1])  # warm-up
    open('/proc/self/clear_refs', 'w').write('5'); base = hwm()
    t0 = time.perf_counter(); out = fn(pre, fts); sec = time.perf_counter() - t0
    peak = hwm() - base  # read before the reference merge below adds its own memory
    ref = naive[method](pre, fts) if kind != 'naive' else None
    err = max((out[k] - ref[k]).abs().max().item() for k in out if out[k].is_floating_point()) if ref else 0.0
    print(json.dumps({'seconds': sec, 'peak_extra_bytes': peak, 'P': P, 'max_abs_diff_vs_naive': err}))
''')


def run(kind, method, T, threads, model, chunk):
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_='131072')
    r = subprocess.run([sys.executable, '-c', WORKER, kind, method, str(T), str(threads), model, str(chunk)],
                       capture_output=True, text=True, env=env)
    if r.returncode: sys.exit(f'{kind} {method} failed:\n{r.stderr[-3000:]}')
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--tasks', type=int, default=8)
    ap.add_argument('--model', default='ViT-B-32')
    ap.add_argument('--threads', type=int, default=os.cpu_count())
    ap.add_argument('--chunk', type=int, default=4_000_000, help='chunk size for the chunked calm_nb run')
    ap.add_argument('--methods', nargs='+', default=['task_arithmetic', 'ties_merging', 'consensus_ta'])
    a = ap.parse_args()
    print(f'{a.model} image encoder, T={a.tasks}, {a.threads} threads; times in s, peak = extra resident memory in units of P fp32 floats')
    print(f"{'method':<16} {'naive s':>8} {'calm_nb s':>9} {'speed-up':>8} {'naive peak':>10} {'calm_nb peak':>12} {'chunked s':>9} {'chunked peak':>12} {'max |diff|':>10}")
    for m in a.methods:
        n = run('naive', m, a.tasks, a.threads, a.model, 'none')
        v = run('calm', m, a.tasks, a.threads, a.model, 'none')
        c = run('calm', m, a.tasks, a.threads, a.model, a.chunk)
        P4 = 4 * v['P']
        print(f"{m:<16} {n['seconds']:8.2f} {v['seconds']:9.2f} {n['seconds'] / v['seconds']:7.2f}x {n['peak_extra_bytes'] / P4:9.2f}P "
              f"{v['peak_extra_bytes'] / P4:11.2f}P {c['seconds']:9.2f} {c['peak_extra_bytes'] / P4:11.2f}P {max(v['max_abs_diff_vs_naive'], c['max_abs_diff_vs_naive']):10.1e}")
    print(f"P = {v['P']:,} merged parameters")


if __name__ == '__main__':
    main()
