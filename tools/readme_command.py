"""Print one of the README's two set-up commands: `main` (install + demo) or `test` (install + tests).

The commands are the single-line shell blocks of README.md's "Two commands" section; .ci/run executes the `test` one,
so CI runs exactly what a newcomer copies.
"""
import re, sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / 'README.md'


def commands(text=None) -> dict:
    text = README.read_text() if text is None else text
    blocks = re.findall(r'```(?:sh|bash|shell)\n(.*?)\n```', text, re.S)
    cmds = [b.strip() for b in blocks if '\n' not in b.strip()]
    main = [c for c in cmds if 'calm_nb demo' in c]
    test = [c for c in cmds if 'pytest' in c]
    if len(main) != 1 or len(test) != 1:
        sys.exit(f'README.md must hold exactly one demo command and one test command, found {main} and {test}')
    return {'main': main[0], 'test': test[0]}


if __name__ == '__main__':
    print(commands()[sys.argv[1] if len(sys.argv) > 1 else 'test'])
