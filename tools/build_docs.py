"""Build calm_nb's documentation site from the notebooks with Python only (Quarto, which `nbdev_docs` needs, cannot be
installed everywhere). The pages follow nbdev's rules:

- an `#| export` cell renders as one API entry per public function or class it defines (signature, docstring, a
  parameter table from the docments or dataclass field comments, an anchor id) and its source is hidden; `#| exports`
  shows the source as well, `#| exporti` hides the cell; an explicit `show_doc(obj)` renders that entry in its place;
- `#| hide`, `#| include: false`, `#| echo: false`, `#| output: false`, `#| code-fold` and `#| default_exp` are honoured;
- every heading gets an id and every page a table of contents; markdown tables and printed pipe tables become HTML
  tables; `$…$` / `$$…$$` maths reaches KaTeX untouched (vendored in tools/docs_assets/katex, so pages render offline);
- an API page lists every exported name with a link to its entry; `search.json` indexes every section of every page.

    python tools/build_docs.py                 # render the notebooks as stored (the committed, full-run outputs)
    python tools/build_docs.py --execute       # execute every notebook first (quick settings: CALM_NB_QUICK=1) to check it
                                               # runs; the pages still show the committed outputs, never quick-run numbers
    python tools/build_docs.py --execute --full  # execute at full settings and render those outputs
    python tools/check_docs.py _site           # the reader's checks (links, anchors, tables, TeX, API entries, Chromium)

Users with Quarto get pages from the same notebooks with `nbdev_docs` (see _quarto.yml).
"""
import argparse, ast, base64, html, importlib, inspect, json, os, re, shutil, sys, textwrap, time
from pathlib import Path
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer, BashLexer
from pygments.lexer import bygroups, inherit, using
from pygments.token import Operator, Whitespace
from configparser import ConfigParser

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / 'nbs'
KATEX = ROOT / 'tools' / 'docs_assets' / 'katex'
MD = MarkdownIt('commonmark', {'html': True}).enable('table').enable('strikethrough')
ANSI = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')
TMP_DIR = re.compile(r'(?:/tmp|/var/folders/[\w-]+/[\w-]+/T)/(?:tmp|calm_nb-[\w-]*?)[\w-]{6,}(?=/|\b)')   # tempfile.mkdtemp() folders
SECTIONS = (('Start', lambda p: p.name == 'index.ipynb'), ('Library', lambda p: p.parent == NBS and p.name != 'index.ipynb'),
            ('Tutorials', lambda p: p.parent.name == 'tutorials'), ('Analyses', lambda p: p.parent.name == 'analysis'))
TUTORIAL_ORDER = ('merge_your_own_models', 'clip_vit_b32', 'roberta_nlp')
_SETTINGS = ConfigParser(delimiters=['=']); _SETTINGS.read(ROOT / 'settings.ini')
GIT_URL = _SETTINGS['DEFAULT'].get('git_url', '').rstrip('/')
BRANCH = _SETTINGS['DEFAULT'].get('branch', 'main')
COLAB_BADGE = 'https://colab.research.google.com/assets/colab-badge.svg'


class NotebookLexer(PythonLexer):
    "Python with notebook shell (`!pip …`) and magic (`%time …`) lines lexed as shell, not flagged as errors."
    name = 'notebook-python'
    tokens = {'root': [(r'^([ \t]*)(!|%%?)(.*\n?)', bygroups(Whitespace, Operator, using(BashLexer))), inherit]}


CALLOUT = re.compile(r'^:::+\s*\{\.callout-(note|warning|tip|important|caution)[^}]*\}[ \t]*\n(.*?)^:::+[ \t]*$', re.S | re.M)


def callouts(md: str) -> str:
    "Quarto's callout blocks (`::: {.callout-note}` … `:::`) as boxes; the markdown inside is rendered."
    def rep(m):
        kind, inner = m.group(1), m.group(2).strip('\n')
        title = re.match(r'^##+\s+(.+)\n', inner)
        head = title.group(1).strip() if title else kind.capitalize()
        if title: inner = inner[title.end():]
        return f'<div class="callout callout-{kind}"><p class="callout-title">{html.escape(head)}</p>\n\n{inner}\n\n</div>'
    return CALLOUT.sub(rep, md)


# ----------------------------------------------------------------------------------------------------------- pages
def page_name(nb: Path) -> str:
    "nbdev's page naming: the notebook's path under nbs/ without a leading number prefix (00_core → core)."
    rel = nb.relative_to(NBS).with_suffix('')
    return '/'.join(re.sub(r'^\d+[a-z]?_', '', part) for part in rel.parts)


def notebooks() -> list[Path]:
    out = [NBS / 'index.ipynb'] + sorted(p for p in NBS.glob('[0-9]*.ipynb'))
    tut = sorted((NBS / 'tutorials').glob('*.ipynb'), key=lambda p: (TUTORIAL_ORDER.index(p.stem) if p.stem in TUTORIAL_ORDER else 99, p.stem))
    out += tut + sorted((NBS / 'analysis').glob('*.ipynb'))
    return [p for p in out if p.exists()]


def execute(nb_path: Path) -> dict:
    "The notebook executed by `run_notebook.execute` (errors kept as outputs), as plain JSON."
    sys.path.insert(0, str(ROOT / 'tools'))
    from run_notebook import execute as run
    nb = run(nb_path, exc_stop=False)
    return json.loads(json.dumps(nb, default=lambda o: dict(o) if hasattr(o, 'keys') else str(o)))


def directives(src: str) -> dict:
    return {m.group(1): m.group(2).strip() for l in src.splitlines() if (m := re.match(r'^\s*#\s*\|\s*([\w-]+)\s*:?\s*(.*)$', l))}


def strip_directives(src: str) -> str:
    return '\n'.join(l for l in src.splitlines() if not re.match(r'^\s*#\s*\|', l)).strip('\n')


def fix_links(md: str) -> str:
    "Links to other notebooks point at their pages."
    def rep(m):
        target = m.group(2)
        if target.startswith(('http:', 'https:', '#', 'mailto:')) or '.ipynb' not in target: return m.group(0)
        path, _, anchor = target.partition('#')
        path = re.sub(r'^(\./)?nbs/', '', path)   # README-relative links (nbs/x.ipynb) from the landing page: the pages sit at the site's root
        name = re.sub(r'(^|/)\d+[a-z]?_', r'\1', path.replace('.ipynb', '.html'))
        return f'{m.group(1)}({name}{"#" + anchor if anchor else ""})'
    return re.sub(r'(\[[^\]]*\])\(([^)\s]+)\)', rep, md)


# ----------------------------------------------------------------------------------------------------------- maths
CODE_SPAN = re.compile(r'(```.*?```|~~~.*?~~~|(?<!`)(`+)(?!`).*?(?<!`)\2(?!`))', re.S)
MATH = re.compile(r'(?<![\\$])\$\$(.+?)\$\$|(?<![\\$\w])\$(?![\s$])((?:\\.|[^$\\\n])+?)(?<![\s\\])\$(?![\w$])', re.S)


def _outside_code(md: str) -> list[str]:
    "The parts of a markdown text outside code spans and fences."
    parts, pos = [], 0
    for m in CODE_SPAN.finditer(md): parts.append(md[pos:m.start()]); pos = m.end()
    return parts + [md[pos:]]


def math_spans(md: str) -> list[tuple[str, bool]]:
    "Every (TeX, display) in a markdown text, outside code spans and fences: what KaTeX must receive byte for byte."
    return [(m.group(1), True) if m.group(1) is not None else (m.group(2), False) for part in _outside_code(md) for m in MATH.finditer(part)]


def render_md(md: str) -> str:
    "Markdown → HTML with the maths taken out before markdown-it sees it (which would eat `\\,` `\\{` and turn `_…_` into"
    " emphasis) and put back, escaped only as HTML requires, in `<span class=\"math\">` elements that KaTeX renders."
    store, pieces, pos = [], [], 0
    def keep(m):
        tex, display = (m.group(1), True) if m.group(1) is not None else (m.group(2), False)
        store.append((tex, display)); return f'CALMNBMATH{len(store) - 1}X'
    for m in CODE_SPAN.finditer(md):
        pieces += [MATH.sub(keep, md[pos:m.start()]), m.group(0)]; pos = m.end()
    pieces.append(MATH.sub(keep, md[pos:]))
    out = MD.render(fix_links(callouts(''.join(pieces))))
    def put(m):
        tex, display = store[int(m.group(1))]
        return f'<span class="math {"display" if display else "inline"}">{html.escape(tex, quote=False)}</span>'
    out = re.sub(r'CALMNBMATH(\d+)X', put, out)
    return out.replace('<table>', '<div class="table-wrap"><table>').replace('</table>', '</table></div>')


# ----------------------------------------------------------------------------------------------------------- tables in outputs
TABLE_SEP = re.compile(r'^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$')


def text_output(text: str, cls: str = 'out') -> str:
    "Printed text as <pre>, except markdown pipe tables in it (a header, a rule, rows), which become HTML tables. The"
    " random names of temporary folders (tests write into `tempfile.mkdtemp()`) print as `<tmp>`: they mean nothing to a reader."
    lines, parts, buf, i = TMP_DIR.sub('<tmp>', text).split('\n'), [], [], 0
    def flush():
        if ''.join(buf).strip(): parts.append(f'<pre class="{cls}">{html.escape(chr(10).join(buf).strip(chr(10)))}</pre>')
        buf.clear()
    while i < len(lines):
        l = lines[i]
        if l.strip().startswith('|') and i + 1 < len(lines) and TABLE_SEP.match(lines[i + 1]):
            j = i + 2
            while j < len(lines) and lines[j].strip().startswith('|'): j += 1
            flush(); parts.append(f'<div class="out-table">{render_md(chr(10).join(lines[i:j]))}</div>'); i = j
        else: buf.append(l); i += 1
    flush()
    return '\n'.join(parts)


def is_progress(text: str) -> bool:
    "tqdm bars and other carriage-return progress in stderr: noise on a static page."
    return '\r' in text or bool(re.search(r'\d+%\|.*\|', text)) or bool(re.search(r'it/s\]|s/it\]', text))


def render_outputs(outputs: list, page: str, k: int, assets: Path, depth: str) -> str:
    parts = []
    for j, o in enumerate(outputs):
        t = o.get('output_type')
        if t == 'stream':
            txt = ANSI.sub('', ''.join(o.get('text', '')))
            if o.get('name') == 'stderr' and is_progress(txt): continue
            parts.append(text_output(txt, 'out' + (' stderr' if o.get('name') == 'stderr' else '')))
        elif t == 'error':
            tb = ANSI.sub('', '\n'.join(o.get('traceback', [])))
            parts.append(f'<pre class="out error">{html.escape(tb)}</pre>')
        elif t in ('execute_result', 'display_data'):
            d = o.get('data', {})
            if 'image/png' in d:
                fn = f'{page.replace("/", "_")}-{k}-{j}.png'
                (assets / fn).write_bytes(base64.b64decode(''.join(d['image/png'])))
                parts.append(f'<img class="fig" src="{depth}assets/{fn}" alt="figure">')
            elif 'image/svg+xml' in d: parts.append(''.join(d['image/svg+xml']))
            elif 'application/vnd.jupyter.widget-view+json' in d: continue   # a live widget: nothing to show on a static page
            elif 'text/html' in d: parts.append(f'<div class="out-html">{"".join(d["text/html"])}</div>')
            elif 'text/markdown' in d: parts.append(f'<div class="out-md">{render_md("".join(d["text/markdown"]))}</div>')
            elif 'text/plain' in d: parts.append(text_output(ANSI.sub('', ''.join(d['text/plain']))))
    return '\n'.join(parts)


# ----------------------------------------------------------------------------------------------------------- API entries
def _anno(a) -> str:
    if a is inspect.Parameter.empty or a is inspect._empty or a is type(None): return ''   # NoneType: fastcore's guess from a None default
    if isinstance(a, str): return a
    if isinstance(a, type): return a.__name__
    return str(a).replace('typing.', '')


def _default(v) -> str:
    if v is inspect.Parameter.empty or v is inspect._empty: return ''
    r = repr(v)
    return r if len(r) <= 60 else r[:57] + '…'


def written_defaults(obj) -> dict:
    "Each parameter's default as its source writes it (`1e7`, not `10000000.0`), from the function's AST (a dataclass: its fields)."
    import dataclasses, textwrap
    if inspect.isclass(obj) and dataclasses.is_dataclass(obj):
        try: src = textwrap.dedent(inspect.getsource(obj)); cls = ast.parse(src).body[0]
        except (TypeError, OSError, SyntaxError, IndexError): return {}
        return {n.target.id: ast.get_source_segment(src, n.value) for n in getattr(cls, 'body', [])
                if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name) and n.value is not None}
    try:
        fn = inspect.unwrap(obj.__init__ if inspect.isclass(obj) and '__init__' in vars(obj) else obj)
        src = textwrap.dedent(inspect.getsource(fn)); tree = ast.parse(src)
    except (TypeError, OSError, SyntaxError, IndentationError): return {}
    f = next((n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    if f is None: return {}
    a, seg = f.args, lambda n: ast.get_source_segment(src, n)
    pos = a.posonlyargs + a.args
    out = {p.arg: seg(d) for p, d in zip(pos[len(pos) - len(a.defaults):], a.defaults)}
    out |= {p.arg: seg(d) for p, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None}
    return {k: v for k, v in out.items() if v}


def signature(obj, oneline: bool = False) -> str:
    "A readable signature: string annotations unquoted, defaults as written, private (`_x`) parameters hidden, one"
    " parameter per line when it is long (unless `oneline`)."
    if inspect.isclass(obj) and issubclass(obj, BaseException) and '__init__' not in vars(obj): return '(message)'   # an exception: raised with its message
    try: sig = inspect.signature(obj)
    except (TypeError, ValueError): return '(…)'
    ps, star_done, written = [], False, written_defaults(obj)
    for p in sig.parameters.values():
        if p.name.startswith('_') and p.default is not p.empty: continue   # test hooks (`_stop_after`): not part of the interface
        if p.kind is p.KEYWORD_ONLY and not star_done and not any(q.kind is q.VAR_POSITIONAL for q in sig.parameters.values()):
            ps.append('*'); star_done = True
        s = ('*' if p.kind is p.VAR_POSITIONAL else '**' if p.kind is p.VAR_KEYWORD else '') + p.name
        if (a := _anno(p.annotation)): s += f': {a}'
        if p.default is not p.empty:
            d = written.get(p.name) or _default(p.default); d = d if len(d) <= 60 else d[:57] + '…'
            s += f' = {d}' if a else f'={d}'
        if p.kind is p.POSITIONAL_ONLY and not any(q.kind is q.POSITIONAL_ONLY for q in list(sig.parameters.values())[len(ps) + 1:]): s += ', /'
        ps.append(s)
    ret = f' -> {_anno(sig.return_annotation)}' if sig.return_annotation is not sig.empty else ''
    one = f'({", ".join(ps)}){ret}'
    return one if len(one) <= 90 or oneline else '(\n    ' + ',\n    '.join(ps) + f'\n){ret}'


def _is_model(cls) -> bool:
    return inspect.isclass(cls) and any(c.__module__.startswith('pydantic') and c.__name__ == 'BaseModel' for c in cls.__mro__)


def _own_init(cls) -> bool:
    "Whether `cls`'s parameters are its own: a dataclass, a pydantic model, or an `__init__` defined in this package."
    import dataclasses
    if dataclasses.is_dataclass(cls) or _is_model(cls): return True
    init = next((c.__dict__['__init__'] for c in cls.__mro__ if '__init__' in c.__dict__), None)
    return init is not None and getattr(init, '__module__', '').split('.')[0] == cls.__module__.split('.')[0]


def field_comments(cls) -> dict:
    "{field (or its alias): comment} of the annotated fields of `cls` and its bases: the comment on the field's line, else the comment lines right above it."
    import io, tokenize
    out = {}
    alias = {n: f.alias for n, f in getattr(cls, 'model_fields', {}).items() if getattr(f, 'alias', None)}
    for c in reversed(cls.__mro__):
        if not c.__dict__.get('__annotations__'): continue
        try: src = textwrap.dedent(inspect.getsource(c))
        except (OSError, TypeError): continue
        lines = src.splitlines()
        com = {t.start[0]: t.string.lstrip('#').strip() for t in tokenize.generate_tokens(io.StringIO(src).readline) if t.type == tokenize.COMMENT}
        node = ast.parse(src).body[0]
        for st in node.body:
            if not (isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name)): continue
            name, ln = st.target.id, st.lineno
            text = com.get(ln)
            if text is None:
                above = []
                k = ln - 1
                while k >= 1 and lines[k - 1].strip().startswith('#'): above.insert(0, com[k]); k -= 1
                text = ' '.join(above) or None
            if text:
                out[name] = text
                if name in alias: out[alias[name]] = text
    return out


def param_table(obj) -> str:
    "nbdev's parameter table (Type, Default, Details) from fastcore's docments: `arg,  # what it is` comments."
    from fastcore.docments import docments
    if inspect.isclass(obj) and not _own_init(obj): return ''   # an inherited foreign __init__: no table of its *args/**kwargs
    try: dm = docments(obj, full=True, returns=True, args_kwargs=True)
    except Exception: return ''
    if _is_model(obj):   # pydantic: fastcore reads BaseModel.__init__; the fields and their comments are the class bodies'
        fc = field_comments(obj)
        dm = {n: {'docment': fc.get(n), 'anno': p.annotation, 'default': p.default, 'kind': p.kind}
              for n, p in inspect.signature(obj).parameters.items()}
    rows, written = [], written_defaults(obj)
    for name, info in dm.items():
        if name in ('self', 'cls') or name.startswith('_') and name != 'return': continue
        if name == 'return':
            if not info.get('docment'): continue
            label = '<strong>Returns</strong>'
        else:
            kind = info.get('kind')
            label = html.escape(('*' if kind == inspect.Parameter.VAR_POSITIONAL else '**' if kind == inspect.Parameter.VAR_KEYWORD else '') + name)
        rows.append(f'<tr><td><code>{label}</code></td><td>{html.escape(_anno(info.get("anno", inspect._empty)))}</td>'
                    f'<td>{html.escape(written.get(name) or _default(info.get("default", inspect._empty)))}</td>'
                    f'<td>{render_md(info["docment"]).strip().removeprefix("<p>").removesuffix("</p>") if info.get("docment") else ""}</td></tr>')
    if not rows: return ''
    return ('<div class="table-wrap"><table class="params"><thead><tr><th></th><th>Type</th><th>Default</th><th>Details</th></tr></thead><tbody>'
            + ''.join(rows) + '</tbody></table></div>')


def anchor(qualname: str) -> str:
    "The anchor nbdev's module index (calm_nb/_modidx.py) links to: the qualified name, lower-cased."
    return qualname.lower()


def source_links(obj) -> str:
    "Links to `obj`'s lines in the repository (`settings.ini`'s git_url) and to the notebook that defines it (the cell id nbdev wrote)."
    fn = inspect.unwrap(obj.fget if isinstance(obj, property) else obj)   # decorated (torch.no_grad, contextmanager): the function itself
    try: file, (lines, start) = inspect.getsourcefile(fn), inspect.getsourcelines(fn)
    except (TypeError, OSError): return ''
    if not file or not GIT_URL: return ''
    try: rel = Path(file).resolve().relative_to(ROOT)
    except ValueError: return ''
    links = [f'<a class="src" href="{GIT_URL}/blob/{BRANCH}/{rel.as_posix()}#L{start}-L{start + len(lines) - 1}">source</a>']
    head = Path(file).read_text().splitlines()[:start]
    cell = next((m for l in reversed(head) if (m := re.match(r'^# %% (?:\.\./)+(nbs/\S+\.ipynb)(?: #(\w+))?', l))), None)
    if cell: links.append(f'<a class="src" href="{GIT_URL}/blob/{BRANCH}/{cell.group(1)}">notebook{" cell " + cell.group(2) if cell.group(2) else ""}</a>')
    return '<div class="srclinks">' + ' · '.join(links) + '</div>'


def doc_entry(obj, qualname: str, level: int = 3, methods: bool = True, skip: set = frozenset()) -> str:
    "One show_doc entry: heading with an anchor, signature, docstring, parameter table; a class lists its public methods."
    aid = anchor(qualname)
    is_cls, is_prop = inspect.isclass(obj), isinstance(obj, property)
    kind = 'class' if is_cls else 'property' if is_prop else 'def'
    sig = '' if is_prop else signature(obj.fget if is_prop else obj)
    doc = inspect.getdoc(obj) or ''
    if is_cls and doc == inspect.getdoc(object): doc = ''
    out = [f'<div class="doc" data-level="{level}"><h{level} id="{aid}" class="doc-name"><code>{html.escape(qualname)}</code>'
           f'<a class="anchor" href="#{aid}" aria-label="link to {html.escape(qualname)}">#</a></h{level}>{source_links(obj)}',
           f'<pre class="sig"><span class="kw">{kind}</span> {html.escape(qualname.split(".")[-1])}{html.escape(sig)}</pre>']
    if doc: out.append(f'<div class="docstring">{render_md(doc)}</div>')
    if not is_prop: out.append(param_table(obj))
    out.append('</div>')
    if is_cls and methods:
        for name, member in vars(obj).items():
            if name.startswith('_') or f'{qualname}.{name}' in skip: continue
            fn = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
            if not (inspect.isfunction(fn) or isinstance(fn, property)): continue
            out.append(doc_entry(fn, f'{qualname}.{name}', level + 1, skip=skip))
    return '\n'.join(out)


def defined_names(src: str) -> list[str]:
    "Public top-level functions and classes an exported cell defines, in order."
    try: tree = ast.parse(strip_directives(src))
    except SyntaxError: return []
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not n.name.startswith('_')]


def show_doc_targets(src: str) -> list[str] | None:
    "The expressions of a cell made only of `show_doc(…)` calls, or None."
    try: tree = ast.parse(strip_directives(src))
    except SyntaxError: return None
    calls = [n.value for n in tree.body if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)
             and isinstance(n.value.func, ast.Name) and n.value.func.id == 'show_doc' and n.value.args]
    if not calls or len(calls) != len(tree.body): return None
    return [ast.unparse(c.args[0]) for c in calls]


# ----------------------------------------------------------------------------------------------------------- headings, TOC
def slug(text: str) -> str:
    s = re.sub(r'<[^>]+>', '', html.unescape(text)).strip().lower()
    s = re.sub(r'[^\w\s-]', '', s, flags=re.UNICODE)
    return re.sub(r'[\s_]+', '-', s).strip('-') or 'section'


def add_heading_ids(body: str, taken: set) -> tuple[str, list]:
    "Give every h1–h4 without an id a unique one; return the body and the table of contents (h2, h3, with API entries)."
    toc = []
    def rep(m):
        lvl, attrs, inner = m.group(1), m.group(2), m.group(3)
        if (idm := re.search(r'\bid="([^"]+)"', attrs)): hid = idm.group(1)
        else:
            base = hid = slug(inner); n = 1
            while hid in taken: hid = f'{base}-{n}'; n += 1
            taken.add(hid); attrs += f' id="{hid}"'
        if lvl in '23': toc.append((int(lvl), hid, re.sub(r'<a class="anchor".*?</a>|<[^>]+>', '', inner).strip()))
        return f'<h{lvl}{attrs}>{inner}</h{lvl}>'
    return re.sub(r'<h([1-4])([^>]*)>(.*?)</h\1>', rep, body, flags=re.S), toc


def toc_html(toc: list) -> str:
    if len(toc) < 2: return ''
    items = ''.join(f'<li class="l{lvl}"><a href="#{hid}">{html.escape(html.unescape(text))}</a></li>' for lvl, hid, text in toc)
    return f'<aside class="toc"><h2>On this page</h2><ul>{items}</ul></aside>'


# ----------------------------------------------------------------------------------------------------------- notebooks
def quick_outputs(nb: dict, path: Path) -> str | None:
    "Why the stored outputs of `nb` must not be rendered (they come from a quick run: CALM_NB_QUICK=1), or None."
    if ((nb.get('metadata') or {}).get('calm_nb') or {}).get('settings') == 'quick' and any(c.get('outputs') for c in nb['cells']):
        return (f'{path}: its stored outputs come from a quick run (CALM_NB_QUICK=1), and the prose quotes full runs; '
                're-run it at full settings (python tools/run_notebook.py) before building the docs')
    return None


def is_result_notebook(path: Path) -> bool:
    "The README's notebook and the analysis notebooks: the pages whose numbers are results."
    return Path(path).name == 'index.ipynb' or Path(path).parent.name == 'analysis'


def stale_outputs(nb: dict, path: Path, current: str | None) -> str | None:
    """Why the stored outputs of `nb` are stale (its `calm_nb.provenance` hash, written by tools/run_notebook.py, differs
    from the code's `current` one, or a result notebook — the README's `index` and every `analysis/` notebook — records
    none), or None; a notebook whose metadata says `archival: true` keeps its outputs."""
    meta = (nb.get('metadata') or {}).get('calm_nb') or {}
    stored = (meta.get('provenance') or {}).get('hash')
    if meta.get('archival') or current is None or stored == current: return None
    if not any(c.get('outputs') for c in nb['cells']): return None
    if stored is None:
        if not is_result_notebook(path): return None
        return (f'{path}: a result notebook whose stored outputs record no provenance fingerprint; run it with '
                'python tools/run_notebook.py (or tools/regenerate.py), or mark it archival')
    return (f'{path}: its stored outputs were made by other code (provenance {stored}, the code now {current}: a '
            'default or the shipped zoo changed); re-run it (python tools/run_notebook.py) or mark it archival')


def page_module(nb: dict):
    for c in nb['cells']:
        if c['cell_type'] == 'code' and (m := directives(''.join(c['source'])).get('default_exp')):
            return importlib.import_module(f'calm_nb.{m}')
    return None


def render_notebook(nb: dict, page: str, assets: Path, depth: str, outputs: bool = True) -> tuple[str, str, list, set]:
    "(title, body html, table of contents, API anchors rendered)."
    sys.path.insert(0, str(ROOT))
    cells, body, title, mod = nb['cells'], [], page, page_module(nb)
    explicit = {t for c in cells if c['cell_type'] == 'code' for t in (show_doc_targets(''.join(c['source'])) or [])}
    ns = dict(vars(mod)) if mod else {}
    def entry(expr: str, **kw) -> str:
        try: obj = eval(expr, ns)
        except Exception as e: raise SystemExit(f'{page}: show_doc({expr}) does not resolve in {mod.__name__ if mod else "calm_nb"}: {e}')
        return doc_entry(obj, expr, skip=explicit, **kw)
    for k, c in enumerate(cells):
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown':
            if k == 0 and (m := re.match(r'^#\s+(.+)', src)): title = m.group(1).strip()
            body.append(f'<section class="md">{render_md(src)}</section>')
            continue
        if c['cell_type'] != 'code': continue
        d = directives(src)
        if 'default_exp' in d or 'hide' in d or 'exporti' in d or d.get('include', '').lower() == 'false': continue
        code = strip_directives(src)
        if (targets := show_doc_targets(src)) is not None:
            body.append(''.join(entry(t) for t in targets)); continue
        parts = []
        exported = 'export' in d or 'exports' in d or 'exp' in d
        if exported:
            if mod is None: raise SystemExit(f'{page}: an exported cell but no #| default_exp')
            parts += [entry(n) for n in defined_names(src) if n not in explicit and hasattr(mod, n)]
        show_src = code and ('exports' in d or not exported) and d.get('echo', '').lower() != 'false'
        out = render_outputs(c.get('outputs', []), page, k, assets, depth) if outputs and d.get('output', '').lower() != 'false' else ''
        if show_src:
            block = highlight(code, NotebookLexer(), HtmlFormatter(cssclass='code'))
            if d.get('code-fold', '').lower() in ('true', 'show'):
                block = f'<details{" open" if d["code-fold"].lower() == "show" else ""}><summary>Code</summary>{block}</details>'
            parts.insert(0, block)
        if out: parts.append(out)
        if parts: body.append(f'<div class="cell">{"".join(parts)}</div>')
    joined = '\n'.join(body)
    anchors = set(re.findall(r'<h\d id="([^"]+)" class="doc-name"', joined))   # the API entries' ids: headings must not take them
    html_body, toc = add_heading_ids(joined, set(anchors))
    return title, html_body, toc, anchors


def defined_in(mod) -> list[tuple[str, object]]:
    "The names of `mod.__all__` that the module itself defines (re-exports listed once, where they are defined)."
    try: tree = ast.parse(Path(mod.__file__).read_text())
    except (OSError, TypeError): return []
    top = {t.id for n in tree.body if isinstance(n, (ast.Assign, ast.AnnAssign)) for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
           if isinstance(t, ast.Name)}
    out = []
    for name in getattr(mod, '__all__', []):
        obj = getattr(mod, name, None)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            if getattr(obj, '__module__', None) == mod.__name__: out.append((name, obj))
        elif name in top: out.append((name, obj))
    return out


def module_page(mod: str) -> str:
    "The page that defines module `mod`, from nbdev's module index (calm_nb/_modidx.py)."
    syms = importlib.import_module('calm_nb._modidx').d['syms'].get(mod) or {}
    return next(iter(syms.values()))[0].split('#')[0] if syms else ''


def api_page() -> tuple[str, list]:
    "The API reference: every exported name by module, with its signature, first docstring paragraph and a link to its entry."
    sys.path.insert(0, str(ROOT))
    idx = importlib.import_module('calm_nb._modidx').d['syms']
    pages = {mod: module_page(mod) for mod in idx}
    rows = []
    for mod in sorted(idx):
        m = importlib.import_module(mod)
        names = defined_in(m)
        if not names: continue
        doc = (m.__doc__ or '').strip().split('\n')[0]
        page = pages.get(mod, '')
        doc_html = render_md(doc).strip().removeprefix('<p>').removesuffix('</p>')
        rows.append(f'<h2 id="{mod}">{mod}</h2><p class="moddoc">{doc_html} Defined in <a href="{page}">{page.removesuffix(".html")}</a>.</p>')
        for name, obj in names:
            aid = f'{mod}.{name}'.lower()
            if inspect.isfunction(obj) or inspect.isclass(obj):
                link = idx[mod].get(f'{mod}.{name}', (f'{page}#{anchor(name)}', ''))[0]
                kind = 'class' if inspect.isclass(obj) else 'def'
                ds = (inspect.getdoc(obj) or '').split('\n\n')[0]
                sig = signature(obj)   # whole: one line, or one parameter per line when long
                rows.append(f'<div class="api" id="{aid}" data-name="{name}"><pre class="apisig"><span class="kw">{kind}</span> <a href="{link}">{name}</a>'
                            f'{html.escape(sig)}</pre>{render_md(ds)}</div>')
            else:
                try: ast.literal_eval(r := repr(obj))   # plain values only: a Path or a dict of functions would print this machine's paths and addresses
                except (ValueError, SyntaxError, MemoryError, RecursionError): r = ''
                r = r if len(r) <= 100 else r[:97] + '…'
                rows.append(f'<div class="api" id="{aid}" data-name="{name}"><code><span class="kw">const</span> <a href="{page}">{name}</a>: '
                            f'{type(obj).__name__}</code><p class="const">{html.escape(r)}</p></div>')
    body, toc = add_heading_ids('<h1>API reference</h1><p>Every name each module exports, with a link to its entry in the '
                                'notebook that defines, explains and tests it.</p>' + '\n'.join(rows), set())
    return body, toc


# ----------------------------------------------------------------------------------------------------------- doclinks
def doclink_map(anchors: dict) -> dict:
    "Backticked name → `page.html#anchor`, as nbdev's doclinks: every public function, class and method in calm_nb's module index"
    " by its qualified name (`calm_nb.zoo.build_zoo`, `zoo.build_zoo`) and, when unambiguous, its bare name; `calm_nb.<module>`"
    " → the module's page. Only targets whose anchor exists on the built page (`anchors`: page → ids)."
    idx = importlib.import_module('calm_nb._modidx').d['syms']
    out, short = {}, {}
    for mod, syms in idx.items():
        page = module_page(mod)
        if page: out[mod] = page
        for full, (link, _) in syms.items():
            q = full[len(mod) + 1:]
            pg, _, aid = link.partition('#')
            if any(part.startswith('_') for part in q.split('.')) or aid not in anchors.get(pg.removesuffix('.html'), ()): continue
            out[full] = out[f'{mod.split(".")[-1]}.{q}'] = link
            short.setdefault(q, set()).add(link)
    for q, links in short.items():
        if len(links) == 1: out.setdefault(q, next(iter(links)))
    return out


def linkify(body: str, links: dict, depth: str) -> str:
    "Inline `<code>name</code>` (or `name()`) outside code blocks, headings and links becomes a link to the name's entry."
    parts = re.split(r'(<pre\b.*?</pre>|<h[1-6]\b.*?</h[1-6]>|<a\b.*?</a>|<script\b.*?</script>)', body, flags=re.S)
    def rep(m):
        name = m.group(1)
        return f'<a class="doclink" href="{depth}{links[name]}">{m.group(0)}</a>' if name in links else m.group(0)
    for i in range(0, len(parts), 2): parts[i] = re.sub(r'<code>([A-Za-z_][\w.]*)(?:\(\))?</code>', rep, parts[i])
    return ''.join(parts)


# ----------------------------------------------------------------------------------------------------------- search
class _Sections:
    "Split a page's HTML into (anchor, section title, text) at its headings, for the search index."
    def __init__(self, body: str):
        import html.parser
        secs, cur = [], {'id': '', 'title': '', 'text': []}
        class P(html.parser.HTMLParser):
            skip = 0; in_h = None
            def handle_starttag(s, tag, attrs):
                nonlocal cur
                a = dict(attrs)
                if re.fullmatch(r'h[1-4]', tag):
                    secs.append(cur); cur = {'id': a.get('id', ''), 'title': '', 'text': []}; s.in_h = tag
                elif a.get('data-name') and a.get('id'):   # an entry of the API page: its own search result
                    secs.append(cur); cur = {'id': a['id'], 'title': a['data-name'], 'text': []}
                if tag in ('script', 'style'): s.skip += 1
            def handle_endtag(s, tag):
                if tag == s.in_h: s.in_h = None
                if tag in ('script', 'style'): s.skip = max(0, s.skip - 1)
            def handle_data(s, d):
                if s.skip: return
                if s.in_h: cur['title'] += d
                else: cur['text'].append(d)
        P().feed(body); secs.append(cur)
        self.sections = [{'id': s['id'], 'title': ' '.join(s['title'].replace('#', ' ').split()), 'text': ' '.join(' '.join(s['text']).split())}
                         for s in secs if s['title'] or s['text']]


CSS = """
:root{--toc:230px}
body{margin:0;font:16px/1.55 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d2433}
.layout{display:flex;min-height:100vh}
nav{width:250px;flex:none;background:#f4f6fa;border-right:1px solid #dde2ea;padding:1rem;position:sticky;top:0;height:100vh;overflow:auto;box-sizing:border-box}
nav h1{font-size:1.2rem;margin:0 0 .6rem}nav h3{font-size:.8rem;text-transform:uppercase;color:#667;margin:1rem 0 .3rem}
nav a{display:block;color:#234;text-decoration:none;padding:.12rem .3rem;border-radius:4px;font-size:.92rem}nav a.cur{background:#dbe6ff;font-weight:600}
#q{width:100%;box-sizing:border-box;padding:.35rem;border:1px solid #bbc;border-radius:4px}
#hits{margin:.3rem 0}#hits a{display:block;padding:.3rem;border-bottom:1px solid #e3e7ee;font-size:.82rem}#hits a b{display:block;color:#123}
#hits small{display:block;color:#556;white-space:normal}#hits mark{background:#ffe58a}
main{flex:1;max-width:940px;padding:1.5rem 2.5rem;min-width:0}
aside.toc{width:var(--toc);flex:none;position:sticky;top:0;height:100vh;overflow:auto;padding:1.5rem .8rem;box-sizing:border-box;font-size:.84rem;border-left:1px solid #eef0f4}
aside.toc h2{font-size:.8rem;text-transform:uppercase;color:#667;margin:0 0 .4rem}aside.toc ul{list-style:none;margin:0;padding:0}
aside.toc li{margin:.15rem 0;overflow-wrap:anywhere}aside.toc li.l3{padding-left:.9rem}aside.toc a{color:#345;text-decoration:none}aside.toc a:hover{text-decoration:underline}
@media (max-width:1150px){aside.toc{display:none}}
pre{overflow-x:auto;padding:.6rem .8rem;border-radius:6px;font-size:.85rem}
.code pre{background:#f6f8fa;border:1px solid #e3e7ee}
pre.out{background:none;border-left:3px solid #f4a582;margin:.2rem 0 .8rem .6rem;white-space:pre-wrap}
pre.stderr{border-left-color:#bbb;color:#666}
pre.error{border-left-color:#c00;color:#900}
img.fig{max-width:min(100%,780px);display:block;margin:.4rem 0 1rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}td,th{border:1px solid #d5dae3;padding:.25rem .55rem;vertical-align:top}th{background:#f1f4f9}
.out-table{overflow-x:auto;margin:.2rem 0 .8rem .6rem}
blockquote{margin:0;padding:.2rem 1rem;color:#555;border-left:4px solid #9ab;font-style:italic}
h1,h2,h3,h4{scroll-margin-top:.5rem}
.doc{border-left:3px solid #7aa2e3;padding:.1rem 0 .2rem .9rem;margin:1.2rem 0 1.4rem}
.doc .doc-name{margin:.2rem 0;font-size:1.08rem}.doc h4.doc-name{font-size:.98rem}.doc .anchor{margin-left:.4rem;color:#99a;text-decoration:none;font-size:.85em}
.doc pre.sig{background:#f6f8fa;border:1px solid #e3e7ee;margin:.3rem 0}
.doc table.params td:first-child{white-space:nowrap}
.api{margin:.5rem 0 1rem}pre.apisig{margin:0;padding:.1rem 0;font-size:.86rem;background:none}.api code{font-size:.88rem}.api p{margin:.2rem 0 0 1rem}.kw{color:#a0a}.moddoc{color:#555}.const{color:#555;font-family:monospace;font-size:.8rem}
.math.display{display:block;overflow-x:auto;margin:.6rem 0}
details>summary{cursor:pointer;color:#456;font-size:.85rem}
.table-wrap,.out-table{overflow-x:auto;max-width:100%}
main p code,main li code,main td code{overflow-wrap:anywhere}
.table-wrap td:first-child,.table-wrap th:first-child,.out-table td:first-child,.out-table th:first-child{position:sticky;left:0;background:#fff;z-index:1}
.table-wrap th:first-child,.out-table th:first-child{background:#f1f4f9}
.code{position:relative}.code pre{white-space:pre;overflow-x:auto}
button.copy{position:absolute;top:.3rem;right:.3rem;font-size:.72rem;padding:.1rem .45rem;border:1px solid #c8cfdb;border-radius:4px;background:#fff;color:#456;cursor:pointer;opacity:.75}
button.copy:hover{opacity:1}
.srclinks{font-size:.78rem;margin:-.1rem 0 .2rem}.srclinks a{color:#678}
a.doclink{text-decoration:none}a.doclink code{color:#1b4fa0;border-bottom:1px dotted #1b4fa0}
nav a code{font-size:.86em}
.callout{border-left:4px solid #4a78c2;background:#f3f7fd;padding:.3rem 1rem;margin:1rem 0;border-radius:4px}
.callout-title{font-weight:600;margin:.3rem 0}
.callout-warning,.callout-caution,.callout-important{border-left-color:#d08a00;background:#fdf8ee}
.callout-tip{border-left-color:#2f9a5b;background:#f1faf4}
#menu{display:none}
@media (max-width:900px){
 .layout{display:block}
 nav{position:fixed;z-index:20;left:0;top:0;width:min(85vw,320px);transform:translateX(-105%);transition:transform .2s;box-shadow:2px 0 8px #0002}
 body.nav-open nav{transform:none}
 #menu{display:block;position:fixed;top:.5rem;left:.5rem;z-index:30;font-size:1.2rem;padding:.1rem .5rem;border:1px solid #c8cfdb;border-radius:4px;background:#fff}
 main{padding:2.8rem 1rem 1rem;max-width:100%}
 h1{font-size:1.6rem;overflow-wrap:anywhere}
}
@media (max-width:600px){
 .doc table.params thead{display:none}
 .doc table.params,.doc table.params tbody,.doc table.params tr{display:block;border:none}
 .doc table.params tr{border-top:1px solid #d5dae3;padding:.3rem 0}
 .doc table.params td{display:block;border:none;padding:.05rem .3rem;position:static;white-space:normal}
 .doc table.params td:nth-child(-n+3){display:inline-block}
 .doc table.params td:nth-child(2):not(:empty)::before{content:'type ';color:#778}
 .doc table.params td:nth-child(3):not(:empty)::before{content:'default ';color:#778}
 .doc table.params td:empty{display:none}
}
"""
BADGE_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="117" height="20" role="img" aria-label="Open in Colab"><rect rx="3" width="117" height="20" fill="#555"/>'
             '<rect rx="3" x="28" width="89" height="20" fill="#f9ab00"/><text x="14" y="14" fill="#fff" font-family="Verdana,sans-serif" font-size="11" '
             'text-anchor="middle">co</text><text x="72" y="14" fill="#fff" font-family="Verdana,sans-serif" font-size="11" text-anchor="middle">Open in Colab</text></svg>')
COPY_JS = """
document.querySelectorAll('div.code pre').forEach(pre=>{const b=document.createElement('button');b.className='copy';b.textContent='Copy';b.type='button';
 b.addEventListener('click',()=>{const t=pre.innerText;const done=()=>{b.textContent='Copied';setTimeout(()=>b.textContent='Copy',1200);};
  const old=()=>{const a=document.createElement('textarea');a.value=t;document.body.appendChild(a);a.select();document.execCommand('copy');a.remove();done();};
  if(navigator.clipboard&&window.isSecureContext)navigator.clipboard.writeText(t).then(done,old);else old();});
 pre.parentNode.insertBefore(b,pre);});
const m=document.getElementById('menu');if(m)m.addEventListener('click',()=>document.body.classList.toggle('nav-open'));
if(location.search.indexOf('calmcheck')>=0)setTimeout(async()=>{   // tools/check_docs.py's layout and search probe (headless Chromium)
 const d=document.documentElement,mn=document.querySelector('main'),nv=document.querySelector('nav'),h=document.querySelector('main h1');
 const r={w:innerWidth,sw:d.scrollWidth,main:mn?mn.getBoundingClientRect().width:0,navRight:nv?nv.getBoundingClientRect().right:0,h1cut:h?h.scrollWidth>h.clientWidth+1:false,hits:-1};
 if(location.search.indexOf('search')>=0){const q=document.getElementById('q');q.value='merge';q.dispatchEvent(new Event('input'));
  for(let i=0;i<40&&!document.querySelector('#hits a');i++)await new Promise(ok=>setTimeout(ok,100));r.hits=document.querySelectorAll('#hits a').length;}
 const e=document.createElement('pre');e.id='calmcheck';e.textContent=JSON.stringify(r);document.body.appendChild(e);},200);
"""
SEARCH_JS = """
(function(){let idx=null;const q=document.getElementById('q'),hits=document.getElementById('hits'),root=q.dataset.root;
const esc=s=>s.replace(/[&<>"]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
function snip(t,w){const i=t.toLowerCase().indexOf(w);if(i<0)return esc(t.slice(0,140));const a=Math.max(0,i-60);
 return (a?'…':'')+esc(t.slice(a,i))+'<mark>'+esc(t.slice(i,i+w.length))+'</mark>'+esc(t.slice(i+w.length,i+w.length+80))+'…';}
function load(){return new Promise((ok,bad)=>{if(window.CALM_SEARCH)return ok(window.CALM_SEARCH);const s=document.createElement('script');
 s.src=root+'search_index.js';s.onload=()=>ok(window.CALM_SEARCH);s.onerror=()=>fetch(root+'search.json').then(r=>r.json()).then(ok,bad);document.head.appendChild(s);});}
q.addEventListener('input',async()=>{if(!idx){try{idx=await load();}catch(e){hits.innerHTML='<small>the search index did not load</small>';return;}}
 const words=q.value.trim().toLowerCase().split(/\\s+/).filter(w=>w.length>1);hits.innerHTML='';if(!words.length)return;
 const found=[];for(const e of idx){const hay=(e.p+' '+e.s+' '+e.t).toLowerCase();if(!words.every(w=>hay.includes(w)))continue;
  let score=0;for(const w of words){if(e.s.toLowerCase().includes(w))score+=3;if(e.p.toLowerCase().includes(w))score+=2;}found.push([score,e]);}
 found.sort((a,b)=>b[0]-a[0]);
 for(const [,e] of found.slice(0,15)){const a=document.createElement('a');a.href=root+e.u;
  a.innerHTML='<b>'+esc(e.p)+(e.s&&e.s!==e.p?' › '+esc(e.s):'')+'</b><small>'+snip(e.t,words[0])+'</small>';hits.appendChild(a);}
 if(!found.length)hits.innerHTML='<small>no match</small>';});})();
"""
MATH_JS = """
document.querySelectorAll('span.math').forEach(el=>{try{katex.render(el.textContent,el,{displayMode:el.classList.contains('display'),throwOnError:false});}
catch(e){el.classList.add('math-error');}});
"""


def nav_title(title: str) -> str:
    "A page title for the sidebar: escaped, with `backticked` parts as code."
    return re.sub(r'`([^`]+)`', r'<code>\1</code>', html.escape(title))


def page_html(title, body, nav, toc, depth):
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{html.escape(title)} – calm_nb</title><link rel="icon" href="data:,"><link rel="stylesheet" href="{depth}site.css"><link rel="stylesheet" href="{depth}pygments.css">
<link rel="stylesheet" href="{depth}katex/katex.min.css"><script defer src="{depth}katex/katex.min.js"></script>
</head><body><div class="layout"><nav><h1><a href="{depth}index.html">calm_nb</a></h1>
<input id="q" placeholder="Search…" data-root="{depth}" aria-label="Search the documentation"><div id="hits"></div>{nav}</nav>
<main>{body}</main>{toc}</div><button id="menu" type="button" aria-label="Menu">☰</button><script>{SEARCH_JS}</script>
<script>window.addEventListener('DOMContentLoaded',()=>{{{MATH_JS}{COPY_JS}}});</script></body></html>"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=str(ROOT / '_site'))
    ap.add_argument('--execute', action='store_true', help='execute the notebooks first (quick settings: checked for errors, committed outputs rendered)')
    ap.add_argument('--full', action='store_true', help='with --execute: full settings, and render the fresh outputs (analysis notebooks run minutes each)')
    ap.add_argument('--only', nargs='*', help='render only these notebooks (paths), for a fast preview')
    a = ap.parse_args()
    out = Path(a.out); shutil.rmtree(out, ignore_errors=True); (out / 'assets').mkdir(parents=True)
    if a.execute and not a.full: os.environ['CALM_NB_QUICK'] = '1'
    if a.full: os.environ.pop('CALM_NB_QUICK', None)
    os.environ.setdefault('MPLBACKEND', 'Agg')
    nbs = [Path(p).resolve() for p in a.only] if a.only else notebooks()
    from calm_nb.provenance import provenance
    current = provenance()['hash']
    pages, failed = [], []
    for p in nbs:
        t0 = time.perf_counter()
        nb = stored = json.loads(p.read_text())
        if (why := quick_outputs(stored, p) or stale_outputs(stored, p, current)): sys.exit(why)
        if a.execute:
            ran = execute(p)
            errs = [o for c in ran['cells'] for o in c.get('outputs', []) if o.get('output_type') == 'error']
            if errs: failed.append(p.name)
            if a.full: nb = ran   # quick runs only check that the notebook runs: its numbers never reach a page
        name = page_name(p)
        depth = '../' * name.count('/')
        title, body, toc, ids = render_notebook(nb, name, out / 'assets', depth)
        pages.append({'name': name, 'title': title, 'body': body, 'toc': toc, 'path': p, 'depth': depth, 'ids': ids})
        print(f'{p.relative_to(ROOT)} → {name}.html ({time.perf_counter() - t0:.1f} s){" ERRORS" if a.execute and p.name in failed else ""}', flush=True)
    if not a.only:
        api_body, api_toc = api_page()
        pages.append({'name': 'api', 'title': 'API reference', 'body': api_body, 'toc': api_toc, 'path': None, 'depth': ''})
    links = doclink_map({pg['name']: pg.get('ids', set()) for pg in pages})
    for pg in pages: pg['body'] = linkify(pg['body'], links, pg['depth']).replace(f'src="{COLAB_BADGE}"', f'src="{pg["depth"]}assets/colab-badge.svg"')
    index = []
    for pg in pages:
        nav = []
        for sec, pred in SECTIONS + (('Reference', lambda p: p is None),):
            items = [q for q in pages if (q['path'] is None and sec == 'Reference') or (q['path'] is not None and pred(q['path']) and sec != 'Reference')]
            if not items: continue
            nav.append(f'<h3>{sec}</h3>' + ''.join(f'<a class="{"cur" if q is pg else ""}" href="{pg["depth"]}{q["name"]}.html">{nav_title(q["title"])}</a>' for q in items))
        f = out / f'{pg["name"]}.html'; f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(page_html(pg['title'], pg['body'], ''.join(nav), toc_html(pg['toc']), pg['depth']))
        for s in _Sections(pg['body']).sections:
            index.append({'u': f'{pg["name"]}.html' + (f'#{s["id"]}' if s['id'] else ''), 'p': pg['title'], 's': s['title'], 't': s['text']})
    (out / 'site.css').write_text(CSS + ((NBS / 'styles.css').read_text() if (NBS / 'styles.css').exists() else ''))
    (out / 'pygments.css').write_text(HtmlFormatter(cssclass='code').get_style_defs('.code'))
    (out / 'search.json').write_text(json.dumps(index, ensure_ascii=False))
    (out / 'search_index.js').write_text('window.CALM_SEARCH=' + json.dumps(index, ensure_ascii=False) + ';')   # file:// pages cannot fetch()
    (out / 'assets' / 'colab-badge.svg').write_text(BADGE_SVG)
    shutil.copytree(KATEX, out / 'katex')
    print(f'wrote {len(pages)} pages and {len(index)} search sections to {out}')
    if failed: sys.exit(f'notebooks with errors: {", ".join(failed)}')


if __name__ == '__main__':
    main()
