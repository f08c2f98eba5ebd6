"""Peak memory and time of `calm_nb merge` on checkpoint files, in memory vs. streamed, measured side by side in one run.

T fine-tuned models of P fp32 coordinates are written as safetensors; the same TIES merge runs once with the memory the
machine has (in-memory path) and once with --max-memory set below the in-memory estimate (the guard switches to the
streaming path). Both outputs must be identical. Prints peak resident memory of each child process and the ratios.

    python benchmarks/bench_cli_memory.py --tasks 8 --params 16000000
"""
import argparse, json, resource, subprocess, sys, tempfile, time
from pathlib import Path
import torch
from safetensors.torch import save_file, load_file


def run(args: list[str]) -> tuple[float, int, str]:
    "(seconds, peak RSS bytes of the child, stdout) of `calm_nb merge …` in a fresh process."
    code = ('import resource, sys; from calm_nb.cli import main\n'
            'try: main(sys.argv[1:])\n'
            'finally: print("PEAK", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, file=sys.stderr)')
    t = time.perf_counter()
    r = subprocess.run([sys.executable, '-c', code, *args], capture_output=True, text=True)
    sec = time.perf_counter() - t
    if r.returncode: raise SystemExit(r.stderr[-2000:])
    peak = int([l for l in r.stderr.splitlines() if l.startswith('PEAK')][-1].split()[1])
    return sec, peak, r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--tasks', type=int, default=8); ap.add_argument('--params', type=int, default=16_000_000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        d = Path(d); g = torch.Generator().manual_seed(0)
        shapes = [(a.params // 4 // 1000, 1000)] * 4
        pre = {f'layer{i}.weight': torch.randn(*s, generator=g) for i, s in enumerate(shapes)}
        save_file(pre, d / 'pre.safetensors')
        fts = []
        for t in range(a.tasks):
            save_file({k: v + 0.01 * torch.randn(v.shape, generator=g) for k, v in pre.items()}, d / f'ft{t}.safetensors'); fts.append(str(d / f'ft{t}.safetensors'))
        del pre
        P = sum(s[0] * s[1] for s in shapes); disk = sum((d / f).stat().st_size for f in ['pre.safetensors', *[Path(f).name for f in fts]])
        base = ['merge', '--method', 'ties_merging', '--pretrained', str(d / 'pre.safetensors'), '--finetuned', *fts, '--quiet']
        s_mem, p_mem, _ = run(base + ['--out', str(d / 'mem')])
        budget = int(0.6 * (disk + 4 * P * (a.tasks + 3)))
        s_str, p_str, _ = run(base + ['--out', str(d / 'stream'), '--max-memory', str(budget)])
        plan = json.loads((d / 'stream' / 'run.json').read_text())['memory_plan']
        same = all(torch.equal(v, load_file(d / 'stream' / 'merged.safetensors')[k]) for k, v in load_file(d / 'mem' / 'merged.safetensors').items())
    print(f'T = {a.tasks}, P = {P:,} fp32 coordinates ({disk / 2**20:.0f} MiB of checkpoints)')
    print(f'in memory : {s_mem:6.1f} s, peak RSS {p_mem / 2**20:7.0f} MiB')
    print(f'streamed  : {s_str:6.1f} s, peak RSS {p_str / 2**20:7.0f} MiB  (mode {plan["mode"]}, chunk {plan["chunk_size"]:,}, budget {budget / 2**20:.0f} MiB)')
    print(f'ratios streamed / in memory: time {s_str / s_mem:.2f}, peak memory {p_str / p_mem:.2f}; identical weights: {same}')


if __name__ == '__main__':
    main()
