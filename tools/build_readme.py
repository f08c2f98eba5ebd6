"""Generate README.md from nbs/index.ipynb (what `nbdev_readme` does with Quarto, in plain Python).

    python tools/build_readme.py          # write README.md
    python tools/build_readme.py --check  # exit 1 if README.md is out of date
"""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _text(x): return ''.join(x) if isinstance(x, list) else x


def render(nb_path=ROOT / 'nbs' / 'index.ipynb') -> str:
    nb = json.loads(Path(nb_path).read_text())
    parts = []
    for c in nb['cells']:
        src = _text(c['source'])
        if c['cell_type'] == 'markdown':   # the prose check's `<!-- quoted: … -->` notes are for the notebook only
            parts.append(re.sub(r'\s*<!--\s*quoted:.*?-->', '', src, flags=re.S).strip())
            continue
        if re.search(r'^\s*#\s*\|\s*(hide|include:\s*false)', src, re.M): continue
        code = '\n'.join(l for l in src.splitlines() if not re.match(r'^\s*#\s*\|', l)).strip()
        hide_in = re.search(r'^\s*#\s*\|\s*echo:\s*false', src, re.M)
        if code and not hide_in: parts.append(f'```python\n{code}\n```')
        for o in c.get('outputs', []):
            if o['output_type'] == 'stream' and o.get('name') == 'stdout':
                txt = _text(o['text']).rstrip()
                parts.append(txt if txt.lstrip().startswith('|') else f'```\n{txt}\n```')
            elif o['output_type'] in ('execute_result', 'display_data'):
                d = o['data']
                if 'text/markdown' in d: parts.append(_text(d['text/markdown']).strip())
                elif 'text/plain' in d: parts.append(f"```\n{_text(d['text/plain']).rstrip()}\n```")
    body = '\n\n'.join(p for p in parts if p)
    return '# calm_nb\n\n<!-- generated from nbs/index.ipynb by tools/build_readme.py: edit the notebook, not this file -->\n\n' + \
        re.sub(r'^# calm_nb\s*\n', '', body) + '\n'


if __name__ == '__main__':
    text = render()
    target = ROOT / 'README.md'
    if '--check' in sys.argv:
        if not target.exists() or target.read_text() != text:
            sys.exit('README.md is out of date with nbs/index.ipynb: run `python tools/build_readme.py`')
        print('README.md is up to date')
    else:
        target.write_text(text); print(f'wrote {target}')
