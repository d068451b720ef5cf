"""What a multirun adds to single runs: the sweep summary (a Hydra callback and the
style-gan-summary command). The Optuna sweeper itself is in hydra_plugins/style_gan_sweeper/,
where Hydra looks for plugins.

May import: run and the leaves (errors, ranges, weights).
"""
