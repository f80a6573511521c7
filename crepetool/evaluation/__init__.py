"""Measurement: how good a model is, on signals with known f0 or on recordings.

Everything here tracks through the prediction pipeline (:mod:`crepetool.prediction`), so it
measures what ``predict`` writes:

    :mod:`.signals` (known-f0 test signals) or recordings with ``NAME.f0.csv`` -> the pipeline
    (CREPE) or :mod:`.peers` (other trackers, moved onto CREPE's frame times) -> :mod:`.metrics`
    (raw pitch / chroma accuracy, cents, voicing, through mir_eval) -> :mod:`.verify` (checks
    that pass, fail or inform), :mod:`.evaluate` (models side by side, with frames/s) ->
    :mod:`.charts` (accuracy against speed)

Importing this package is cheap; each module imports what it needs. Nothing here trains.
"""
