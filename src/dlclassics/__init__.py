"""dlclassics: five classic deep-learning experiments, end to end on real data."""

__version__ = "0.2.0"
