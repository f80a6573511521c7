"""Everything that measures a model.

- :mod:`~crepetool.evaluation.metrics`: raw pitch / chroma accuracy, cents, voicing (mir_eval).
- :mod:`~crepetool.evaluation.signals`: the known-f0 test signals, and tracking them.
- :mod:`~crepetool.training.heldout`: the held-out sets that recovery reports on.
- :mod:`~crepetool.evaluation.verify`: ``verify``, checks that pass, fail or inform.
- :mod:`~crepetool.evaluation.evaluate`: ``evaluate``, models side by side on signals or recordings.

Importing this package is cheap; each module imports what it needs.
"""
