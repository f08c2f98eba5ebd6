"""Peak memory and time of `calm_nb merge` on checkpoint files, in memory vs. streamed, measured side by side in one run.

T fine-tuned models of P fp32 coordinates are written as safetensors; each data-free method runs once with the memory the
machine has (in-memory path) and once per --budgets value with --max-memory set to it (the guard switches to the streaming
path). Outputs must be identical. Memory is the child's peak resident set (VmHWM) above its resident set just before the
command ran, i.e. what the merge itself added to a Python process that has torch and calm_nb imported. (Not ru_maxrss:
Linux carries it over from the parent process through fork and exec.)

    python benchmarks/bench_cli_memory.py --tasks 8 --params 8000000 --budgets 366 200 130
"""
import argparse, json, subprocess, sys, tempfile, time
from pathlib import Path
import torch
from safetensors.torch import save_file, load_file


def run(args: list[str]) -> tuple[float, int, int]:
    "(seconds of the command, peak resident bytes above the start, resident bytes at the start) of `calm_nb …` in a fresh process."
    code = ('import sys, time; from calm_nb.cli import main\n'
            'kib = lambda key: int([l for l in open("/proc/self/status") if l.startswith(key)][0].split()[1]) * 1024\n'
            'start = kib("VmRSS:"); t = time.perf_counter(); main(sys.argv[1:])\n'
            'print("PEAK", time.perf_counter() - t, kib("VmHWM:") - start, start, file=sys.stderr)')
    r = subprocess.run([sys.executable, '-c', code, *args], capture_output=True, text=True)
    if r.returncode: raise SystemExit(r.stderr[-2000:])
    sec, peak, start = [l for l in r.stderr.splitlines() if l.startswith('PEAK')][-1].split()[1:]
    return float(sec), int(peak), int(start)


METHODS = ['weight_averaging', 'task_arithmetic', 'ties_merging', 'dare', 'consensus_ta', 'consensus_ties']


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--tasks', type=int, default=8); ap.add_argument('--params', type=int, default=8_000_000)
    ap.add_argument('--budgets', type=int, nargs='+', default=[366, 200, 130], help='MiB')
    ap.add_argument('--methods', nargs='+', default=METHODS)
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
        print(f'T = {a.tasks}, P = {P:,} fp32 coordinates ({disk / 2**20:.0f} MiB of checkpoints); memory = peak resident set above the process at start')
        print(f'{"method":<18} {"path":<16} {"seconds":>8} {"MiB":>6} {"budget":>7}  within  identical')
        for m in a.methods:
            base = ['merge', '--method', m, '--pretrained', str(d / 'pre.safetensors'), '--finetuned', *fts, '--quiet']
            s_mem, p_mem, start = run(base + ['--out', str(d / m / 'mem')])
            ref = load_file(d / m / 'mem' / 'merged.safetensors')
            print(f'{m:<18} {"in memory":<16} {s_mem:8.1f} {p_mem / 2**20:6.0f} {"-":>7}  {"-":>6}  {"-":>9}')
            for b in a.budgets:
                out = d / m / f's{b}'
                s_str, p_str, _ = run(base + ['--out', str(out), '--max-memory', f'{b}MiB'])
                plan = json.loads((out / 'run.json').read_text())['memory_plan']
                same = all(torch.equal(v, load_file(out / 'merged.safetensors')[k]) for k, v in ref.items())
                print(f'{m:<18} {"streamed (" + str(plan["chunk_size"] // 1000) + "k)":<16} {s_str:8.1f} {p_str / 2**20:6.0f} {b:7d}  {str(p_str <= b * 2**20):>6}  {str(same):>9}'
                      f'   ratio to in memory: time {s_str / s_mem:.2f}, memory {p_str / p_mem:.2f}')
        print(f'process at start (torch and calm_nb imported): {start / 2**20:.0f} MiB')


if __name__ == '__main__':
    main()
