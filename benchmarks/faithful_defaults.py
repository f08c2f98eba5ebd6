"""Side by side on zoo-vit: each default changed to follow the code behind the paper's numbers, against the reading it replaced.

    python benchmarks/faithful_defaults.py > benchmarks/results/faithful_defaults_zoo_vit.txt

TIES: disjoint sum (new default; AdaMerging's TIES script, the paper's TIES row) vs disjoint mean (old default).
Consensus TIES: the consensus mask on the TIES-merged vector with dis-sum (new; the authors' order) vs masks from Σ τ applied
before TIES with dis-mean (old default), and the old order with dis-sum. Prints each merge's zoo-vit test accuracy (%), the norm
ratio of the two TIES updates and the share of coordinates that differ.
"""
import time
import torch
from calm_nb import zoo
from calm_nb.registry import merge
from calm_nb.evaluate import evaluate


def main():
    b = zoo.zoo_vit(progress=False)
    pre = b.pretrained
    flat = lambda sd: torch.cat([(sd[k].float() - pre[k].float()).flatten() for k in sd if sd[k].is_floating_point()])
    rows = [('ties_merging', {}), ('ties_merging', {'merge_func': 'mean'}), ('consensus_ties', {}),
            ('consensus_ties', {'mask_order': 'before_merge', 'merge_func': 'mean'}), ('consensus_ties', {'mask_order': 'before_merge'})]
    upd = {}
    print(f'zoo-vit, {len(b.finetuned)} tasks: test accuracy (%) per merge; defaults as registered now unless given')
    for m, hp in rows:
        t = time.perf_counter(); sd = merge(m, pre, b.finetuned, **hp); s = time.perf_counter() - t
        ev = evaluate(b, sd); upd[(m, str(hp))] = flat(sd)
        print(f"{m:<16} {str(hp) or '{}':<55} avg {ev['avg']:.2f}  " + ' '.join(f'{v:.1f}' for v in ev['per_task'].values()) + f'  ({s:.2f} s)', flush=True)
    a, c = upd[('ties_merging', '{}')], upd[('ties_merging', "{'merge_func': 'mean'}")]
    print(f'TIES: norm of the dis-mean update / the dis-sum update = {float(c.norm() / a.norm()):.3f}; coordinates that differ: {float((a != c).float().mean()) * 100:.1f} %')
    a, c = upd[('consensus_ties', '{}')], upd[('consensus_ties', "{'mask_order': 'before_merge', 'merge_func': 'mean'}")]
    print(f'Consensus TIES, new vs old default: coordinates that differ: {float((a != c).float().mean()) * 100:.1f} %')


if __name__ == '__main__':
    main()
