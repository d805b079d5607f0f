"""Hebbian meta-learning (Najarro & Risi 2020): ES over per-synapse ABCD rules, the morphology table
and the adaptation studies. Registers the ``hebbian`` algorithm and its ``hebbian-*`` commands; see
docs/hebbian.md.
"""

from training.algorithm import Algorithm, register
from training.hebbian.commands import COMMANDS
from training.hebbian.config import HebbianConfig
from training.hebbian.search import make_search

ALGORITHM = register(
    Algorithm(
        "hebbian",
        HebbianConfig,
        make_search,
        "Hebbian ABCD rules on random weights, OpenAI-ES",
        COMMANDS,
        start_keys=("init_rules",),
    )
)
