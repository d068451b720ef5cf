"""Networks: building blocks, generators, discriminators, encoders, frozen feature networks,
weight initialisation and the weight average (EMA).

May import: the leaves (errors, ranges, weights).
"""
