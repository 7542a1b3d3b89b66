"""The model names (kept free of heavy imports, so ``dlc --help`` stays fast)."""

REFERENCE_MODELS = ("bow", "avg", "glove-avg", "glove-rnn", "glove-lstm")
MODEL_NAMES = (*REFERENCE_MODELS, "bilstm", "cnn", "minilm")
GLOVE_MODELS = ("glove-avg", "glove-rnn", "glove-lstm", "bilstm", "cnn")
