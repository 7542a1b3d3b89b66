"""Image captioning with the NumPy RNN/LSTM of ``dlclassics.numpy_nn`` (part 4).

Settings (``config``); data (``coco``, ``folder``, ``shapes``, ``features``, ``vocab``,
``dataset``) → model (``model``, its PyTorch twin ``torch_model``) → training and sampling
(``solver``, ``train``) → scores (``metrics``); ``benchmark`` and ``reproduce`` run the
experiments, ``commands`` is ``dlc caption``.
"""
