"""Sentence sentiment: five reference classifiers, three stronger ones, ensembles, and their CLI."""
