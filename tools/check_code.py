"""Checks of calm_nb/'s code that CI runs (and tests/test_repo.py): no line over 120 characters, and no import circle
between calm_nb's modules (imports inside functions included). nbdev writes two things we do not format: `_modidx.py`
(its index of names) and the `__all__` list under `# %% auto #0`, whose first line it wraps at 120 after the
`__all__ = ` prefix; both are left out of the length check.

    python tools/check_code.py          # prints each problem; exit 1 if there is one
"""
import ast, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX = 120

def long_lines(pkg: Path = ROOT / 'calm_nb', limit: int = MAX) -> list[str]:
    "`path:line: N characters` for each line of `pkg`'s modules longer than `limit` (nbdev's generated index left out)."
    out = []
    for p in sorted(pkg.rglob('*.py')):
        if p.name == '_modidx.py': continue
        in_all = False
        for i, line in enumerate(p.read_text().split('\n'), 1):
            if line.startswith('__all__ = ['): in_all = True
            if not in_all and len(line) > limit: out.append(f'{p.relative_to(ROOT)}:{i}: {len(line)} characters')
            if in_all and line.rstrip().endswith(']'): in_all = False
    return out

def import_graph(pkg: Path = ROOT / 'calm_nb') -> dict[str, set[str]]:
    "Module -> the package's modules it imports (at module level or inside functions; relative imports resolved)."
    mods = {}
    for p in pkg.rglob('*.py'):
        parts = p.relative_to(pkg.parent).with_suffix('').parts
        mods['.'.join(parts[:-1] if parts[-1] == '__init__' else parts)] = p
    graph = {m: set() for m in mods}
    for m, p in mods.items():
        base_pkg = m if p.name == '__init__.py' else m.rsplit('.', 1)[0]
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Import): names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ''
                if node.level:
                    up = base_pkg.split('.')[:len(base_pkg.split('.')) - node.level + 1]
                    base = '.'.join(up + ([base] if base else []))
                names = [base] + [f'{base}.{a.name}' for a in node.names]
            else: continue
            graph[m] |= {n for n in names if n in mods and n != m}
    return graph

def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    "The strongly connected components of more than one module (each an import circle), by Tarjan's algorithm."
    index, low, stack, on, out = {}, {}, [], set(), []
    def visit(v):
        index[v] = low[v] = len(index); stack.append(v); on.add(v)
        for w in sorted(graph[v]):
            if w not in index: visit(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: out.append(sorted(comp))
    for v in sorted(graph):
        if v not in index: visit(v)
    return out

def main() -> int:
    problems = long_lines() + [f'import circle: {" ↔ ".join(c)}' for c in import_cycles(import_graph())]
    for p in problems: print(p)
    print(f'{len(problems)} problem(s)' if problems else 'calm_nb/: no line over 120 characters, no import circle')
    return 1 if problems else 0

if __name__ == '__main__': sys.exit(main())
