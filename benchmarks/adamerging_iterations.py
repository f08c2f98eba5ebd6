"""AdaMerging (task-wise TW, layer-wise LW) on zoo-vit at the given iteration counts; prints one line per run.

    python benchmarks/adamerging_iterations.py 200 500   # -> benchmarks/results/adamerging_zoo_vit_cpu.txt
"""
import sys
from calm_nb.zoo import zoo_vit
from calm_nb.methods.adamerging import run_adamerging
from calm_nb.evaluate import evaluate
b = zoo_vit(progress=False)
for lw in (False, True):
    for it in map(int, sys.argv[1:]):
        r = run_adamerging(b, layerwise=lw, iterations=it)
        ev = evaluate(b, r.state_dict)
        print('LW' if lw else 'TW', it, f'{r.seconds:.0f}s', round(ev['avg'], 2), {k: round(v, 1) for k, v in ev['per_task'].items()}, 'coef', [round(float(c), 3) for c in r.coefficients.mean(1)], flush=True)
