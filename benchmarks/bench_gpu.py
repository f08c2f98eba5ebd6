"""CALM at the paper's scale on one GPU: random-weight open_clip ViT-B/32 and ViT-L/14 image towers, 8 tasks, synthetic
uint8 images of the paper's shape (3×224×224), CALM's paper settings (|S̄| = 2, batch 128, 2 batches per task).

For each model it prints, measured side by side in one run:
  - the memory planner's prediction and the measured peak (`torch.cuda.max_memory_allocated`), whole batch;
  - the same with the micro-batch the planner picks for a 16 GB T4's budget (does the paper's batch fit a T4?);
  - CALM's seconds per iteration against a plain forward + backward pass over the same images;
  - the projected wall time of a full run (CB-EMS + 2 sequential tasks × 100 iterations).

    python benchmarks/bench_gpu.py                      # on a GPU: both models, about 5 minutes on an H100-class GPU
    python benchmarks/bench_gpu.py --plan-only          # anywhere: the planner's plans for T4 / A100 40 GB (activations counted on this device)
    python benchmarks/bench_gpu.py --tiny               # a tiny ViT, on the CPU: what the test suite runs

Writes its report to stdout and, with --out, to a JSON file.
"""
import argparse, json, math, sys, time
from pathlib import Path
import torch, torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from calm_nb.benchmark import MergeBenchmark, TaskData, batch_backward
from calm_nb.device import DEVICES, CONTEXT_BYTES, activation_cost, plan_device_memory, plan_for, format_plan, resident_bytes
from calm_nb.masks import FlatLeaf
from calm_nb.core import FlatIndex, mergeable_keys
from calm_nb.methods.calm import run_calm
from calm_nb.memory import human_size
from calm_nb.zoo import prepare_images   # uint8 NHWC → CLIP-normalised NCHW floats, on the batch's device

TINY = dict(embed_dim=32, vision_cfg=dict(image_size=32, layers=2, width=64, patch_size=8, head_width=32),
            text_cfg=dict(context_length=16, vocab_size=100, width=32, heads=2, layers=1))


def tower(name: str) -> nn.Module:
    "A random-weight open_clip image tower (QuickGELU, as the OpenAI weights)."
    import open_clip
    if name == 'tiny': model = open_clip.model.CLIP(**TINY, quick_gelu=True)
    else: model = open_clip.create_model(name, pretrained=None, force_quick_gelu=True)
    return model.visual.eval().requires_grad_(False)


def synthetic_bench(name: str, T: int, n_unlabeled: int, n_test: int, classes: int, device, perturb: bool = True) -> MergeBenchmark:
    "T tasks of random uint8 images; fine-tuned towers = pretrained + small noise (kept on the host); random linear heads."
    visual = tower(name)
    size = visual.image_size[0] if isinstance(visual.image_size, tuple) else visual.image_size
    g = torch.Generator().manual_seed(0)
    pre = {k: v.detach().clone() for k, v in visual.state_dict().items()}
    fts = [{k: (v + 1e-3 * torch.randn(v.shape, generator=g)) if perturb and v.is_floating_point() else v for k, v in pre.items()}
           for _ in range(T)] if perturb else [pre] * T
    dim = visual.output_dim
    img = lambda n: torch.randint(0, 256, (n, size, size, 3), dtype=torch.uint8, generator=g)   # stored as the zoo stores images
    lab = lambda n: torch.randint(0, classes, (n,), generator=g)
    tasks = [TaskData(f'task{t}', [f'c{i}' for i in range(classes)], img(0), lab(0), img(n_unlabeled), lab(n_unlabeled),
                      img(n_test), lab(n_test)) for t in range(T)]
    heads = [nn.Linear(dim, classes).requires_grad_(False) for _ in range(T)]
    return MergeBenchmark(name, visual, pre, fts, heads, tasks, prepare=prepare_images).to(device)


def plans(args) -> list[dict]:
    "The planner's plans for CALM at the paper's settings on named GPUs, activations counted on this machine."
    out = []
    for name in args.models:
        b = synthetic_bench(name, 1, 8, 0, 10, 'cpu', perturb=False)
        act = activation_cost(b, sizes=(2, 4))
        P = FlatIndex.from_state_dict(b.pretrained, mergeable_keys(b.pretrained)).size
        resident = resident_bytes(b)
        for dev in args.plan_devices:
            for method, batch in (('calm', 128), ('adamerging_tw', 16), ('localize_stitch', 128)):
                p = plan_device_memory(method, P, 8, batch, act['per_sample'], act['fixed'], resident, DEVICES[dev], 'auto',
                                       device=dev, context=CONTEXT_BYTES)
                print(f'# {name}, {dev}\n{format_plan(p)}\n', flush=True)
                out.append({'model': name, **p, 'activation': act})
    return out


def timed(f, sync):
    sync(); t = time.perf_counter(); r = f(); sync(); return r, time.perf_counter() - t


def measure(args, name: str, device) -> dict:
    "Peak memory against the plan, CALM's time per iteration against a plain forward + backward, projected wall time."
    cuda = device.type == 'cuda'
    sync = (lambda: torch.cuda.synchronize(device)) if cuda else (lambda: None)
    T, batch, iters = args.tasks, args.batch, args.iterations
    b = synthetic_bench(name, T, args.n_unlabeled, args.n_test, 10, device)
    rep = {'model': name, 'device': torch.cuda.get_device_name(device) if cuda else 'cpu', 'T': T, 'batch': batch}
    act = activation_cost(b)
    for label, budget in (('whole batch', None), ('T4 budget', DEVICES['T4'] - CONTEXT_BYTES)):
        plan = plan_for(b, 'calm', batch, 'auto', budget=budget, activation=act)
        micro = None if plan['micro_batch'] >= batch else plan['micro_batch']
        if cuda: torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats(device)
        res, secs = timed(lambda: run_calm(b, iterations=iters, batch_size=batch, micro_batch=micro, progress=False, amp=args.amp), sync)
        peak = torch.cuda.max_memory_allocated(device) if cuda else float('nan')
        seq = [v for k, v in res.card['seconds'].items() if k.startswith('seq_')]
        rep[label] = {'plan': plan['need_bytes'] - plan['context_bytes'], 'measured_peak': peak, 'micro_batch': micro,
                      'seconds_per_iteration': sum(seq) / (len(seq) * iters), 'credible_sets_seconds': res.card['seconds']['credible_sets'],
                      'amp': res.card['amp']}
        print(f"{name} [{label}] micro-batch {micro or batch}: planned {human_size(rep[label]['plan'])}, measured "
              f"{human_size(peak) if cuda else 'n/a (CPU)'}; {rep[label]['seconds_per_iteration']:.2f} s/iteration", flush=True)
    # a plain forward + backward over the same number of images as one CALM iteration of the second sequential task
    index = FlatIndex.from_state_dict(b.pretrained, mergeable_keys(b.pretrained))
    leaf = FlatLeaf(index, b.pretrained, index.flatten(b.pretrained, device=device))
    x = b.tasks[0].x_unlabeled
    n_img = T * 2 * batch
    def plain():
        leaf.zero_grad()
        for i in range(0, n_img, batch):
            sel = torch.randint(len(x), (batch,))
            batch_backward(b, leaf.params(), 0, x[sel], lambda lg: lg.logsumexp(-1).mean(), micro_batch=rep['whole batch']['micro_batch'])
    plain(); _, s_plain = timed(plain, sync)
    s_calm = rep['whole batch']['seconds_per_iteration']
    full = rep['whole batch']['credible_sets_seconds'] * args.full_unlabeled / args.n_unlabeled + 2 * 100 * s_calm
    rep.update(plain_seconds=s_plain, calm_over_plain=s_calm / s_plain, projected_full_run_seconds=full)
    print(f'{name}: CALM {s_calm:.2f} s/iteration vs plain forward+backward {s_plain:.2f} s ({s_calm / s_plain:.2f}×); '
          f'projected full run (CB-EMS on {args.full_unlabeled} images per task + 2 × 100 iterations): {full / 60:.1f} min', flush=True)
    return rep


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--models', nargs='+', default=['ViT-B-32', 'ViT-L-14'])
    ap.add_argument('--plan-only', action='store_true'); ap.add_argument('--plan-devices', nargs='+', default=['T4', 'A100-40GB'])
    ap.add_argument('--tiny', action='store_true', help='a tiny ViT on the CPU, small sizes (the test)')
    ap.add_argument('--tasks', type=int, default=8); ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--iterations', type=int, default=3); ap.add_argument('--n-unlabeled', type=int, default=512)
    ap.add_argument('--n-test', type=int, default=0); ap.add_argument('--full-unlabeled', type=int, default=10000)
    ap.add_argument('--amp', action=argparse.BooleanOptionalAction, default=True); ap.add_argument('--out')
    a = ap.parse_args()
    if a.tiny: a.models, a.tasks, a.batch, a.iterations, a.n_unlabeled = ['tiny'], 3, 8, 2, 32
    report = {'plans': plans(a)} if a.plan_only else {}
    if not a.plan_only:
        dev = torch.device('cuda' if torch.cuda.is_available() and not a.tiny else 'cpu')
        report['runs'] = [measure(a, m, dev) for m in a.models]
    report['versions'] = {'torch': torch.__version__}
    if a.out: Path(a.out).write_text(json.dumps(report, indent=1, default=str))
