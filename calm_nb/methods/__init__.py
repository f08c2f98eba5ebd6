"""calm_nb's merging methods, one module per family: data-free (task_arithmetic, ties, dare, consensus) and data-driven (calm, adamerging, fisher, regmean, localize_stitch, pareto). The registry imports every module of this package, so a new file here, written from its notebook, is all a new method needs."""

ORDER = ('task_arithmetic', 'ties', 'dare', 'consensus', 'calm', 'adamerging', 'fisher', 'regmean', 'localize_stitch', 'pareto')  # the results tables' order; a module not listed follows, alphabetically
