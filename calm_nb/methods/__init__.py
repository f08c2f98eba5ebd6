"""The merging methods that need data, one module per family (CALM, AdaMerging, Fisher, RegMean, Localize-and-Stitch, Pareto); the registry imports every module of this package, so a new file here is all a new method needs. The data-free methods are in `calm_nb.merge`."""

ORDER = ('calm', 'adamerging', 'fisher', 'regmean', 'localize_stitch', 'pareto')  # the results tables' order; a module not listed follows, alphabetically
