"""Sentence sentiment: five reference classifiers, two stronger ones, and their CLI.

Reading files (``text``), the vocabulary (``vocab``), GloVe vectors (``glove``), turning sentences
into tensors (``batches``), the models (``models``, ``minilm``), one training loop (``train``),
one run end to end (``experiment``), prediction (``predict``) and figures (``figures``).
"""
