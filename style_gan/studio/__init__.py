"""The studio: an interactive page where a person picks a content image and a style, generates,
says what to change, refines, and repeats (``style-gan-studio``)."""
