"""dnacnn: 1D convolutional neural networks for DNA sequences and SNP genotypes.

Data flows one way: inputs -> ``encode`` -> tensor store -> ``train`` -> model file ->
``evaluate`` / ``predict``.  Each arrow is one library function, one CLI subcommand,
one Snakemake rule and one Galaxy tool.
"""

__version__ = "0.1.0"
