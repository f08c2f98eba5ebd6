"""Every third-party import of the project is declared in settings.ini.

Scans the Python files and the notebooks' code cells (imports inside functions and `try:` blocks included), maps each
imported top-level module to the distribution that provides it (`importlib.metadata.packages_distributions()`), and
compares with the requirements declared in settings.ini. The standard library and the project's own modules are
excepted. Two rules:

- anything imported anywhere must be declared in some requirement list (`requirements`, `hf_requirements`,
  `dev_requirements`);
- a module-level import in `calm_nb/` must be in `requirements`, the runtime list, so that `import calm_nb.x` works
  after a plain `pip install calm_nb` (optional extras are imported inside the functions that need them).

`python tools/check_imports.py` prints the undeclared packages and exits 1 if there are any.
"""
from __future__ import annotations

import ast, json, re, sys
from configparser import ConfigParser
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# setup.py is left out: setuptools is the build backend, which pip provides in its isolated build environment
SCANNED = ('calm_nb', 'tools', 'tests', 'benchmarks', 'nbs', 'conftest.py')
REQUIREMENT_KEYS = ('requirements', 'hf_requirements', 'dev_requirements')
# Imports of modules that are not installed here on purpose, each with the reason; nothing else may be missing.
NOT_INSTALLED = {'google': 'google.colab: the Colab runtime only, imported inside try/except in the tutorials',
                 'fusion_bench': 'the `parity` extra (settings.ini), installed in a separate environment for '
                                 'benchmarks/parity_fusion_bench.py only; never imported by calm_nb'}


def canonical(name: str) -> str:
    "A distribution name as the package index compares them (PEP 503)."
    return re.sub(r'[-_.]+', '-', name).lower()


def declared(settings=ROOT / 'settings.ini') -> dict[str, set[str]]:
    "Canonical distribution names declared in settings.ini, per requirement key."
    cfg = ConfigParser(delimiters=['=']); cfg.read(settings, encoding='utf-8')
    d = cfg['DEFAULT']
    return {k: {canonical(re.match(r'[A-Za-z0-9._-]+', r).group(0)) for r in d.get(k, '').split()} for k in REQUIREMENT_KEYS}


def _code_cells(path: Path) -> str:
    nb = json.loads(path.read_text(encoding='utf-8'))
    cells = [''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'code']
    # IPython magics and shell lines are not Python
    return '\n'.join('\n'.join(l for l in c.splitlines() if not l.lstrip().startswith(('%', '!'))) for c in cells)


def imports_in(source: str, where: str) -> list[tuple[str, bool, int]]:
    "(top-level module, at module level?, line) for every absolute import in `source`."
    tree = ast.parse(source, filename=where)
    out = []
    def visit(node, top):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                out.extend((a.name.split('.')[0], top, child.lineno) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                out.append((child.module.split('.')[0], top, child.lineno))
            nested = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.Try)) or not top
            visit(child, top and not nested)
    visit(tree, True)
    return out


def project_files(root: Path = ROOT, scanned=SCANNED) -> list[Path]:
    files = []
    for s in scanned:
        p = root / s
        if p.is_file(): files.append(p)
        elif p.is_dir():
            files += [f for f in sorted(p.rglob('*')) if f.suffix in ('.py', '.ipynb')
                      and '.ipynb_checkpoints' not in f.parts and '__pycache__' not in f.parts]
    return files


def first_party(root: Path = ROOT, files=None) -> set[str]:
    "Module names that are the project's own: its package and every scanned script (imported by its siblings)."
    return {'calm_nb'} | {f.stem for f in (files or project_files(root)) if f.suffix == '.py'}


def undeclared(root: Path = ROOT, settings=None, scanned=SCANNED, runtime_dir: str = 'calm_nb') -> list[str]:
    "One line per problem: an import whose distribution is not declared (or not in the runtime list), with where it is."
    files = project_files(root, scanned)
    ours, stdlib, dists = first_party(root, files), set(sys.stdlib_module_names), packages_distributions()
    decl = declared(settings or root / 'settings.ini')
    anywhere = set().union(*decl.values())
    problems = {}
    for f in files:
        rel = f.relative_to(root).as_posix()
        src = _code_cells(f) if f.suffix == '.ipynb' else f.read_text(encoding='utf-8')
        try: found = imports_in(src, rel)
        except SyntaxError as e: problems[rel] = f'{rel}: cannot be parsed ({e.msg}, line {e.lineno})'; continue
        for mod, top, line in found:
            if mod in stdlib or mod in ours or mod == '__future__': continue
            if mod not in dists:
                if mod not in NOT_INSTALLED:
                    problems.setdefault(mod, f'{mod}: imported in {rel}:{line} but no installed distribution provides it '
                                             '(declare it and install, or list it in NOT_INSTALLED with a reason)')
                continue
            names = {canonical(d) for d in dists[mod]}
            if not names & anywhere:
                problems.setdefault(mod, f"{mod}: imported in {rel}:{line}; its distribution {'/'.join(sorted(names))} "
                                         'is declared nowhere in settings.ini')
            elif top and rel.startswith(runtime_dir + '/') and not names & decl['requirements']:
                problems.setdefault(mod + ' (runtime)', f"{mod}: imported at module level in {rel}:{line}, but "
                                    f"{'/'.join(sorted(names))} is not in settings.ini's runtime `requirements` "
                                    '(move it there, or import it inside the function that needs it)')
    return sorted(problems.values())


if __name__ == '__main__':
    bad = undeclared()
    print('\n'.join(bad) if bad else 'every import is declared in settings.ini')
    sys.exit(1 if bad else 0)
