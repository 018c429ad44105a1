"""SKB rules as data (rules.toml) and the engine that turns findings into violations."""

from screening.rules.config import Rule, RuleSet, load_rules
from screening.rules.engine import evaluate

__all__ = ["Rule", "RuleSet", "evaluate", "load_rules"]
