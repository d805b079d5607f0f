"""Chromatic networks (Song, Choromanski et al.): edges coloured into P classes share one weight each.

Registers the ``chromatic`` algorithm (OpenAI-ES over the shared weights, a REINFORCE-trained
colouring controller) and the ``chromatic-compare`` and ``chromatic-export`` commands; see docs/chromatic.md.
"""

from training.algorithm import Algorithm, register
from training.chromatic.config import ChromaticConfig
from training.chromatic.search import make_search


def _compare(argv: list[str]) -> int:
    from training.chromatic.compare import main

    return main(argv)


def _export(argv: list[str]) -> int:
    from training.chromatic.export import main

    return main(argv)


ALGORITHM = register(
    Algorithm(
        "chromatic",
        ChromaticConfig,
        make_search,
        "shared-weight colourings: ES on the pool, REINFORCE on the colouring",
        {"chromatic-compare": _compare, "chromatic-export": _export},
    )
)
