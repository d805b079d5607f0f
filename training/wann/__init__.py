"""WANN search (Gaier & Ha 2019): genome, operators, ranking, vectorised evaluation, tuning, pictures.

Registers the ``wann`` algorithm with the training engine; see docs/wann.md.
"""

from training.algorithm import Algorithm, register
from training.wann.config import SAVED_DEFAULTS, WannConfig
from training.wann.engine import make_search
from training.wann.table import main as table_main

ALGORITHM = register(
    Algorithm(
        "wann",
        WannConfig,
        make_search,
        "weight-agnostic topology search",
        {"wann-table": table_main},
        SAVED_DEFAULTS,
    )
)
