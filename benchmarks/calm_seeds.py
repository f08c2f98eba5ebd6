"""Run CALM on the embedded zoo-vit benchmark for several seeds / update modes / settings and append one JSON record
per run to a .jsonl file (the source of the CALM tables in nbs/07_calm.ipynb).

    python benchmarks/calm_seeds.py --seeds 0 1 2 --modes reference paper --iterations 20 --out benchmarks/results/calm_zoo_vit_cpu.jsonl
    python benchmarks/calm_seeds.py --device cuda --iterations 100 --seeds 0 1 2 --out benchmarks/results/calm_zoo_vit_gpu.jsonl
    python benchmarks/calm_seeds.py --set strategy=m_only --iterations 20 --out ablation.jsonl
"""
import argparse, ast, json, platform, time
import torch
from calm_nb.zoo import zoo_vit
from calm_nb.methods.calm import run_calm
from calm_nb.evaluate import evaluate


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--modes', nargs='+', default=['reference', 'paper'])
    ap.add_argument('--iterations', type=int, default=100)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--set', nargs='*', default=[], metavar='NAME=VALUE', help='further CalmConfig fields')
    ap.add_argument('--out', required=True)
    a = ap.parse_args()
    extra = {k: ast.literal_eval(v) if v[:1].isdigit() or v[:1] in '-[(' else v for k, v in (s.split('=', 1) for s in a.set)}
    bench = zoo_vit(progress=False)
    if a.device != 'cpu': bench = bench.to(a.device)
    dev = torch.cuda.get_device_name() if a.device.startswith('cuda') else platform.processor() or platform.machine()
    with open(a.out, 'a') as f:
        for mode in a.modes:
            for seed in a.seeds:
                kw = dict(iterations=a.iterations, update=mode, seed=seed) | extra
                t = time.perf_counter(); res = run_calm(bench, progress=False, **kw); sec = time.perf_counter() - t
                ev = evaluate(bench, res.state_dict)
                rec = {'kw': kw, 'avg': ev['avg'], 'per_task': ev['per_task'], 'seconds': sec, 'device': f'{a.device} ({dev}, {torch.get_num_threads()} threads)',
                       'seq': res.card['sequential_tasks'], 'density': res.card['mask_density'], 'config': res.card['config'],
                       'history_density': {k: v['density'] for k, v in res.history.items()}, 'history_loss': {k: v['loss'] for k, v in res.history.items()}, 'history_grad_l1': {k: v.get('grad_l1') for k, v in res.history.items()}}
                f.write(json.dumps(rec) + '\n'); f.flush()
                print(f"{json.dumps(kw)}: avg {ev['avg']:.2f} in {sec:.0f} s, sequential {rec['seq']}", flush=True)


if __name__ == '__main__':
    main()
