"""Sentence sentiment: five reference classifiers, three stronger ones, and their CLI (``config``,
``text``, ``vocab``, ``glove``, ``models``, ``minilm``, ``classifier`` (building,
loading, scoring, predicting), ``run``, ``ensemble``, ``reproduce``, ``commands``)."""
