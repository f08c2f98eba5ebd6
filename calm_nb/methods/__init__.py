"""calm_nb's merging methods, one module per family: data-free (task_arithmetic, ties, dare, consensus) and
data-driven (calm, adamerging, fisher, regmean, localize_stitch, pareto). The registry imports every module of this
package, so a new file here, written from its notebook, is all a new method needs: its `register_method` call carries
its table order, faithfulness entry, hyper-parameter rules, data, memory model and demo settings."""
