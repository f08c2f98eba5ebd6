"""One command for a lent GPU machine: both Colab tutorials at SIZE='smoke', then the GPU benchmark, one JSON report.

The device machines reach no model or dataset hub, so the tutorials run against calm_nb's simulated hubs
(`calm_nb.rehearsal`): the registry's datasets with the hub copies' splits and columns, and random-weight models —
with `--shapes real` (the default on a GPU) the real open_clip ViT-B/32 and ViT-L/14 architectures, HF
`CLIPVisionModel` towers of ViT-B/32's size and a RoBERTa-base-sized encoder (its vocabulary is a few words). Every
code cell of each tutorial runs top to bottom at SIZE='smoke' (a few hundred test examples per task, three methods
including CALM at a few iterations) except the `pip` line; then `benchmarks/bench_gpu.py` runs (memory planned vs
measured, CALM's seconds per iteration vs a plain forward and backward pass, both towers).

    python benchmarks/gpu_check.py --out gpu_check.json            # on a GPU: about ten minutes
    python benchmarks/gpu_check.py --tiny --out check.json         # anywhere: tiny shapes, bench_gpu --tiny (the test)

The report holds, per tutorial, its wall time, peak host memory (VmHWM during its cells) and GPU memory, the cells run and the results
table; and bench_gpu's report. Each part is written the moment it finishes, so a timeout still leaves a report.
"""
import argparse, json, os, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _save(report: dict, out: Path | None):
    if out is not None:
        from calm_nb.io import write_json
        write_json(out, report)


def tutorial(name: str, work: Path, shapes: str, rows: int, device: str) -> dict:
    "Rehearse one tutorial at SIZE='smoke' under the simulated hubs; what it ran, its time, memory and results."
    import torch
    from calm_nb.rehearsal import rehearse
    from calm_nb.device import PeakMeter
    nb = ROOT / 'nbs' / 'tutorials' / f'{name}.ipynb'
    env = {'CALM_NB_SIZE': 'smoke', 'CALM_RUNS': str(work / name / 'runs'), 'CALM_NB_CACHE': str(work / name / 'cache'),
           'MPLBACKEND': 'Agg'}
    if device == 'cpu': env['CUDA_VISIBLE_DEVICES'] = ''
    if torch.cuda.is_available(): torch.cuda.reset_peak_memory_stats()
    host = PeakMeter('cpu').start()   # the process's high-water mark from here (VmHWM)
    t0 = time.perf_counter()
    r = rehearse(nb, work / 'hub', env, rows=rows, shapes=shapes)
    ns = r['namespace']
    res = ns.get('results', {})
    return {'seconds': round(time.perf_counter() - t0, 1), 'cells_run': len(r['ran']), 'cells_skipped': r['skipped'],
            'host_peak_bytes': host.base + host.peak(),
            'gpu_peak_bytes': torch.cuda.max_memory_allocated() if torch.cuda.is_available() else None,
            'tasks': len(ns['bench'].tasks) if 'bench' in ns else None,
            'results': {m: {'avg': v.get('avg'), 'seconds': v.get('seconds')} for m, v in res.items()}}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', type=Path, help='the JSON report')
    ap.add_argument('--work', type=Path, default=Path('gpu_check_work'), help='simulated hubs, caches and runs')
    ap.add_argument('--tiny', action='store_true', help='tiny shapes and bench_gpu --tiny (a CPU rehearsal)')
    ap.add_argument('--rows', type=int, help='rows per simulated split (default 400; 40 with --tiny)')
    ap.add_argument('--skip-bench', action='store_true', help='the tutorials only')
    a = ap.parse_args()
    import torch
    import calm_nb
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    shapes, rows = ('tiny', a.rows or 40) if a.tiny else ('real', a.rows or 400)
    report = {'calm_nb': calm_nb.__version__, 'torch': torch.__version__, 'device': device,
              'gpu': torch.cuda.get_device_name() if device == 'cuda' else None, 'shapes': shapes, 'rows': rows,
              'tutorials': {}}
    t_all = time.perf_counter()
    for name in ('clip_vit_b32', 'roberta_nlp'):
        print(f'== {name} (SIZE=smoke, {shapes} shapes, {rows} rows per split)', flush=True)
        try: report['tutorials'][name] = tutorial(name, a.work, shapes, rows, device)
        except Exception as e: report['tutorials'][name] = {'error': f'{type(e).__name__}: {str(e)[:2000]}'}
        print(json.dumps(report['tutorials'][name], indent=1)[:3000], flush=True)
        _save(report, a.out)
    if not a.skip_bench:
        bench_out = a.work / 'bench_gpu.json'
        cmd = [sys.executable, str(ROOT / 'benchmarks' / 'bench_gpu.py'), '--out', str(bench_out)] + (['--tiny'] if a.tiny else [])
        print('==', ' '.join(cmd[1:]), flush=True)
        r = subprocess.run(cmd, capture_output=True, text=True)
        print(r.stdout[-4000:], flush=True)
        report['bench_gpu'] = (json.loads(bench_out.read_text()) if r.returncode == 0 and bench_out.exists()
                               else {'error': r.stderr[-3000:]})
    report['seconds'] = round(time.perf_counter() - t_all, 1)
    _save(report, a.out)
    failed = [k for k, v in report['tutorials'].items() if 'error' in v] + (['bench_gpu'] if 'error' in report.get('bench_gpu', {}) else [])
    print(f"gpu_check: {report['seconds']} s" + (f'; FAILED: {failed}' if failed else '; every part ran'))
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
