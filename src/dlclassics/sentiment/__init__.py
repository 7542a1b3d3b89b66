"""Sentence sentiment: five reference classifiers, three stronger ones, and their CLI.

``config`` (the one ``SentimentConfig``, presets), ``text`` (the one sentence reader), ``vocab``,
``glove``, ``batches`` (sentences → tensors), ``models`` and ``minilm`` (the networks),
``classifier`` (a model with its inputs, from a checkpoint, scored), ``run`` (one run on the shared
loop of ``dlclassics.training``), ``predict``, ``ensemble``, ``reproduce`` (compare and the report
part) and ``commands`` (the CLI).
"""
