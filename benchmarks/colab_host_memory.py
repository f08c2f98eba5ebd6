"""Host memory of the two Colab tutorials at full size, projected from costs measured here (no GPU, no hub needed).

Colab's standard runtime has 12.7 GB of host memory. What the tutorials keep on the host at full size:

  - the libraries (torch, open_clip, transformers, datasets, calm_nb): measured, anonymous memory after importing them;
  - the fine-tuned encoders (8 ViT-B/32 image towers; 12 RoBERTa-base encoders), kept on the host while the GPU
    holds the pretrained model; one merged state dict at a time (`MergedStore`); the host copies of the model and of
    the pretrained state dict until `.to(device)` moves them: bytes per stored parameter measured on real-size
    random state dicts, times the parameter counts of the real architectures (built here, random weights);
  - the task data: decoded into file-backed memory maps split by split (`ArraySink`) and read batch by batch, so its
    anonymous memory is one batch: measured by building a cache of 224×224 images both ways (file-backed, and whole
    in memory as before) and sampling the process's anonymous resident memory (RssAnon) every 5 ms;
  - CUDA's host-side libraries and context: NOT measurable without a GPU; an allowance of 1.5 GB is added, and
    `benchmarks/gpu_check.py` records the real host peak on a lent GPU.

    python benchmarks/colab_host_memory.py                 # about a minute; prints the projection, asserts < 12 GB
    python benchmarks/colab_host_memory.py --images 200    # fewer images in the data-path measurement (the test)

Page-cache pages of the memory-mapped files are not counted: they are clean, file-backed and reclaimable (the kernel
drops them under pressure), unlike anonymous memory.
"""
import argparse, json, subprocess, sys, textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET = 12 * 10**9          # the assertion: under 12 GB (Colab standard: 12.7 GB)
CUDA_HOST_ALLOWANCE = 1.5e9  # not measured here (see the docstring)
# full-size rows per task: unlabeled 1000 + labelled 256 + the whole evaluation split (the hub copies' sizes)
VISION_TEST = {'SUN397': 19850, 'Cars': 8041, 'RESISC45': 6300, 'EuroSAT': 2700, 'SVHN': 26032, 'GTSRB': 12630,
               'MNIST': 10000, 'DTD': 1880}
NLP_TEST = {'SST-2': 872, 'CR': 753, 'MR': 1066, 'MPQA': 2000, 'TREC': 500, 'SUBJ': 2000, 'QNLI': 5463, 'SNLI': 9824,
            'MNLI': 9815, 'RTE': 277, 'MRPC': 408, 'QQP': 40430}

SAMPLER = '''
import threading, time
def anon():
    for l in open('/proc/self/status'):
        if l.startswith('RssAnon:'): return int(l.split()[1]) * 1024
    return 0
class Peak:
    def __init__(self): self.peak, self.go = anon(), True; self.t = threading.Thread(target=self.run, daemon=True); self.t.start()
    def run(self):
        while self.go: self.peak = max(self.peak, anon()); time.sleep(0.005)
    def stop(self): self.go = False; self.t.join(); self.peak = max(self.peak, anon()); return self.peak
'''


def run(code: str) -> dict:
    "Run `code` (which prints one JSON line last) in a fresh Python; return that JSON."
    r = subprocess.run([sys.executable, '-c', SAMPLER + textwrap.dedent(code)], capture_output=True, text=True,
                       cwd=ROOT, env={'OMP_NUM_THREADS': '2', 'PATH': '/usr/bin:/bin', 'CUDA_VISIBLE_DEVICES': '',
                                      'HOME': str(Path.home())})
    if r.returncode: raise RuntimeError(r.stderr[-3000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def libraries() -> int:
    return run('''
        import json, torch, numpy, open_clip, transformers, datasets
        import calm_nb.data, calm_nb.evaluate, calm_nb.methods.calm, calm_nb.finetune
        print(json.dumps({'anon': anon()}))''')['anon']


def bytes_per_parameter() -> dict:
    "Anonymous bytes per stored fp32 parameter: three real-size ViT-B/32 tower state dicts held at once."
    return run('''
        import json, torch, open_clip
        v = open_clip.create_model('ViT-B-32', pretrained=None, force_quick_gelu=True).visual
        P = sum(t.numel() for t in v.state_dict().values()); base = anon()
        kept = [{k: t.clone() for k, t in v.state_dict().items()} for _ in range(3)]
        print(json.dumps({'P': P, 'per_param': (anon() - base) / (3 * P)}))''')


def parameter_counts() -> dict:
    return run('''
        import json, torch, open_clip
        from transformers import RobertaConfig, RobertaModel
        v = open_clip.create_model('ViT-B-32', pretrained=None).visual
        with torch.device('meta'): r = RobertaModel(RobertaConfig(), add_pooling_layer=False)
        print(json.dumps({'vit_b32': sum(p.numel() for p in v.state_dict().values()),
                          'roberta_base': sum(p.numel() for p in r.state_dict().values())}))''')


def data_path(n: int) -> dict:
    """Peak anonymous memory of caching n and 2n decoded 224×224 images file-backed (ArraySink; the slope is the cost
    per example), n whole in memory (as before), and of reading them back in batches of 256."""
    return run(f'''
        import json, tempfile, numpy as np, torch
        from calm_nb.io import array_cache
        shape = (3, 224, 224)
        def fill(out):
            g = np.random.default_rng(0)
            for i in range(len(out)): out[i] = g.integers(0, 255, shape, dtype=np.uint8)   # one decoded image at a time
        res = {{}}
        with tempfile.TemporaryDirectory() as d:
            for name, m in (('file_backed', {n}), ('file_backed_2n', 2 * {n}), ('in_memory', {n})):
                def streamed(sink, m=m): fill(sink.new('x', (m,) + shape, np.uint8))
                def whole_of(m):
                    def whole():
                        x = np.empty((m,) + shape, np.uint8); fill(x); return {{'x': x}}
                    return whole
                build = whole_of(m) if name == 'in_memory' else streamed
                base = anon(); p = Peak(); a = array_cache(name, {{'n': m}}, build, root=d); res[name] = p.stop() - base
                del a
            x = array_cache('file_backed_2n', {{'n': 2 * {n}}}, None, root=d)['x']
            base = anon(); p = Peak()
            for i in range(0, len(x), 256): torch.from_numpy(np.ascontiguousarray(x[i:i + 256])).float().mean()
            res['read_batches_of_256'] = p.stop() - base
        res['per_example'] = max(res['file_backed_2n'] - res['file_backed'], 0) / {n}
        print(json.dumps(res | {{'n': {n}, 'image_bytes': int(np.prod(shape))}}))''')


def projection(name: str, P: int, T: int, per_param: float, libs: int, data: dict, rows: int) -> dict:
    parts = {'libraries (measured)': libs, 'CUDA host allowance (not measured)': CUDA_HOST_ALLOWANCE,
             f'{T} fine-tuned encoders on the host': T * P * per_param,
             'model + pretrained host copies (until .to(device))': 2 * P * per_param,
             'one merged state dict (MergedStore)': P * per_param,
             'task data: file-backed build (measured per example × rows)': data['per_example'] * rows,
             'task data: one batch being read (measured)': data['read_batches_of_256']}
    if name.startswith('roberta'):   # token ids are tokenized a split at a time in memory, then written: the largest
        parts['task data: largest tokenized split held whole (computed)'] = max(NLP_TEST.values()) * 2 * 128 * 8
    return {'tutorial': name, 'P': P, 'T': T, 'rows': rows, 'parts': parts, 'total': sum(parts.values())}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--images', type=int, default=2000, help='images in the data-path measurement')
    ap.add_argument('--out', type=Path)
    a = ap.parse_args()
    libs, bpp, counts, data = libraries(), bytes_per_parameter(), parameter_counts(), data_path(a.images)
    gb = lambda b: f'{b / 1e9:6.2f} GB'
    print(f"libraries: {gb(libs)}; {bpp['per_param']:.3f} bytes per stored parameter; ViT-B/32 tower {counts['vit_b32']:,}, "
          f"RoBERTa-base encoder {counts['roberta_base']:,} parameters")
    print(f"caching {data['n']} images of {data['image_bytes']:,} bytes: anonymous peak {gb(data['file_backed'])} file-backed "
          f"({data['per_example']:,.0f} bytes per further example), {gb(data['in_memory'])} whole in memory; reading "
          f"{2 * data['n']} back in batches of 256: {gb(data['read_batches_of_256'])}")
    vis_rows = sum(VISION_TEST.values()) + 8 * 1256
    nlp_rows = sum(NLP_TEST.values()) + 12 * 1256
    reports = [projection('clip_vit_b32 (full)', counts['vit_b32'], 8, bpp['per_param'], libs, data, vis_rows),
               projection('roberta_nlp (full)', counts['roberta_base'], 12, bpp['per_param'], libs, data, nlp_rows)]
    for r in reports:
        print(f"\n{r['tutorial']}: {r['T']} tasks, {r['rows']:,} rows of task data")
        for k, v in r['parts'].items(): print(f'  {k:<60} {gb(v)}')
        print(f"  {'projected host peak':<60} {gb(r['total'])}  (assert < {gb(BUDGET).strip()})")
    if a.out: a.out.write_text(json.dumps({'libraries': libs, 'bytes_per_parameter': bpp, 'parameters': counts,
                                           'data_path': data, 'projections': reports}, indent=1))
    bad = [r['tutorial'] for r in reports if r['total'] >= BUDGET]
    assert not bad, f'projected host peak over 12 GB: {bad}'


if __name__ == '__main__':
    main()
