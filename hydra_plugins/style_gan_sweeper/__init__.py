"""Hydra finds its sweepers in the ``hydra_plugins`` namespace package only; this is style_gan's
(see study_sweeper.py)."""
