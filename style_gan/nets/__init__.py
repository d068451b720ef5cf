"""Networks: building blocks, generators, discriminators and weight initialisation."""
