"""Offline search for wann_ros policies: ask/tell strategies, evaluation backends, runs, CLI.

``python -m training --help`` lists the commands; docs/training.md describes the engine.
"""
