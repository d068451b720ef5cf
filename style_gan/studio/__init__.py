"""The studio: an interactive page where a person picks a content image and a style, generates,
says what to change, refines, and repeats (``style-gan-studio``; the page needs the studio
extra, everything below it does not).

May import: inference, gan, nets, data, run and the leaves.
"""
