"""Ask/tell search strategies. Every strategy *maximises* fitness."""

from training.strategies.base import Strategy
from training.strategies.cma_es import CMAES
from training.strategies.openai_es import OpenAIES
from training.strategies.shaping import centred_ranks

__all__ = ["CMAES", "OpenAIES", "Strategy", "centred_ranks"]
