"""Executed parity with FusionBench: its own implementations run on zoo-vit next to calm_nb's, one table.

FusionBench is an optional extra, never a runtime requirement: install it in a separate environment next to calm_nb
(`pip install fusion-bench==0.2.33 -e .`, or `pip install -e ".[parity]"`), then

    python benchmarks/parity_fusion_bench.py                    # zoo-vit, writes benchmarks/results/parity_fusion_bench.{json,md}
    python benchmarks/parity_fusion_bench.py --quick            # the quick zoo (the smoke run)

For each method both libraries merge the same eight image towers (FusionBench through a `BaseModelPool` of
`nn.Module`s, calm_nb through `registry.merge` on state dicts) at the same hyper-parameters; the table gives the
largest absolute difference over all merged coordinates, how many coordinates differ by more than float32 rounding
(1e-6 + 1e-5·|θ|), the average test accuracy of each merge on zoo-vit, and a verdict. Nothing of FusionBench is copied: its
code is imported and run. Methods whose FusionBench version needs its data loaders (Fisher, RegMean, AdaMerging) are
not run here; the faithfulness table states how calm_nb's differ.
"""
import argparse, copy, json, platform, sys, time, traceback
from pathlib import Path
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def modules(bench):
    "The pretrained and fine-tuned image towers of zoo-vit as `nn.Module`s (what a FusionBench model pool holds)."
    from calm_nb.zoo import zoo_visual
    def tower(sd):
        m = zoo_visual(); m.load_state_dict(sd, strict=True); return m.eval()
    return tower(bench.pretrained), {t: tower(sd) for t, sd in zip(bench.task_names, bench.finetuned)}


def fb_merge(algorithm, pre, fts) -> dict:
    "Run a FusionBench algorithm on a fresh model pool; return the merged tower's state dict."
    from fusion_bench.modelpool import BaseModelPool
    pool = BaseModelPool({'_pretrained_': copy.deepcopy(pre), **{k: copy.deepcopy(v) for k, v in fts.items()}})
    out = algorithm.run(pool)
    out = out['model'] if isinstance(out, dict) and 'model' in out else out
    return {k: v.detach().clone() for k, v in out.state_dict().items()}


def compare(bench, ours: dict, theirs: dict) -> dict:
    from calm_nb.evaluate import evaluate
    floats = [k for k, v in bench.pretrained.items() if v.is_floating_point()]
    diffs = {k: (ours[k].float() - theirs[k].float()).abs() for k in floats}
    max_abs = max(float(d.max()) for d in diffs.values())
    # beyond float32 rounding: |Δ| > 1e-6 + 1e-5·|θ|
    n_diff = sum(int((d > 1e-6 + 1e-5 * ours[k].float().abs()).sum()) for k, d in diffs.items())
    worst = max(diffs, key=lambda k: float(diffs[k].max()))
    acc_ours, acc_theirs = evaluate(bench, ours)['avg'], evaluate(bench, {**bench.pretrained, **theirs})['avg']
    return {'max_abs_diff': max_abs, 'coordinates_differing': n_diff, 'coordinates': sum(diffs[k].numel() for k in floats),
            'worst_tensor': worst, 'accuracy_calm_nb': acc_ours, 'accuracy_fusion_bench': acc_theirs}


CASES = [   # (row, calm_nb method and hyper-parameters, FusionBench algorithm factory, what is expected)
    ('simple average', 'weight_averaging', {}, lambda M: M.SimpleAverageAlgorithm(), 'same'),
    ('task arithmetic λ=0.3', 'task_arithmetic', {'lam': 0.3},
     lambda M: M.TaskArithmeticAlgorithm(scaling_factor=0.3), 'same'),
    ('TIES k=20 %, λ=0.3, sum', 'ties_merging', {'k': 0.2, 'lam': 0.3, 'merge_func': 'sum'},
     lambda M: M.TiesMergingAlgorithm(scaling_factor=0.3, threshold=20, remove_keys=[], merge_func='sum'), 'same'),
    ('DARE p=0.9 + task arithmetic λ=0.3', 'dare', {'p': 0.9, 'base': 'ta'},
     lambda M: M.DareTaskArithmetic(scaling_factor=0.3, sparsity_ratio=0.9, only_on_linear_weights=False, rescale=True),
     'random drops: accuracy only'),
    ('Consensus TA (TALL λ=0.4, k=2)', 'consensus_ta', {'tall_lam': 0.4, 'k': 2, 'lam': 0.3},
     lambda M: M.TallMaskTaskArithmeticAlgorithm(tall_mask_lambda=0.4), 'FusionBench returns per-task TALL models'),
]


def verdict(expect: str, r: dict) -> str:
    if 'error' in r: return 'FusionBench failed: ' + r['error'].splitlines()[-1][:120]
    if expect == 'same':
        return 'agree' if r['coordinates_differing'] == 0 else f"differ at {r['coordinates_differing']:,} coordinates"
    gap = abs(r['accuracy_calm_nb'] - r['accuracy_fusion_bench'])
    return f'{expect}; accuracies {gap:.1f} points apart'


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--out', type=Path, default=ROOT / 'benchmarks' / 'results' / 'parity_fusion_bench')
    a = ap.parse_args()
    import fusion_bench, fusion_bench.method as M
    import calm_nb
    from calm_nb.zoo import zoo_vit
    from calm_nb.registry import merge
    from calm_nb.provenance import provenance
    torch.manual_seed(0)
    bench = zoo_vit(quick=a.quick, progress=False)
    pre, fts = modules(bench)
    rows = []
    for row, method, hp, make, expect in CASES:
        t0 = time.perf_counter()
        ours = merge(method, bench.pretrained, bench.finetuned, sanity=False, **hp)
        try:
            theirs = fb_merge(make(M), pre, fts)
            r = compare(bench, ours, theirs)
        except Exception as e:
            r = {'error': ''.join(traceback.format_exception_only(type(e), e)).strip()[-600:],
                 'accuracy_calm_nb': __import__('calm_nb.evaluate', fromlist=['x']).evaluate(bench, ours)['avg']}
        r |= {'row': row, 'calm_nb_method': method, 'hparams': hp, 'seconds': round(time.perf_counter() - t0, 1)}
        r['verdict'] = verdict(expect, r)
        rows.append(r); print(json.dumps(r), flush=True)
    rec = {'fusion_bench': getattr(fusion_bench, '__version__', '0.2.33'), 'calm_nb': calm_nb.__version__,
           'torch': torch.__version__, 'benchmark': bench.name, 'quick': a.quick, 'platform': platform.platform(),
           'provenance': provenance(bench), 'rows': rows}
    fmt = lambda v, f: '—' if v is None else f.format(v)
    md = ['| Method | max \\|Δ\\| | coordinates differing | accuracy calm_nb | accuracy FusionBench | verdict |',
          '|---|---:|---:|---:|---:|---|']
    for r in rows:
        md.append(f"| {r['row']} | {fmt(r.get('max_abs_diff'), '{:.2e}')} | {fmt(r.get('coordinates_differing'), '{:,}')} | "
                  f"{fmt(r.get('accuracy_calm_nb'), '{:.1f}')} | {fmt(r.get('accuracy_fusion_bench'), '{:.1f}')} | {r['verdict']} |")
    md.append(f"\nFusionBench {rec['fusion_bench']} and calm_nb {rec['calm_nb']} on {bench.name}{' (quick)' if a.quick else ''}, "
              f"torch {rec['torch']}; `python benchmarks/parity_fusion_bench.py`.")
    if not a.quick:
        from calm_nb.io import write_json, write_text
        write_json(a.out.with_suffix('.json'), rec); write_text(a.out.with_suffix('.md'), '\n'.join(md) + '\n')
    print('\n'.join(md))


if __name__ == '__main__':
    main()
