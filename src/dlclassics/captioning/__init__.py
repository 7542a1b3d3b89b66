"""Image captioning with the NumPy RNN/LSTM of ``dlclassics.numpy_nn`` (part 4).

Settings (``config``); data (``coco``, ``folder``, ``shapes``, ``features``, ``vocab``,
``dataset``, ``loaders``) → model (``model``, its PyTorch twin ``torch_model``) → training
(``solver``, ``train``) → scores and figures (``metrics``, ``figures``, ``sampling``);
``benchmark`` and ``reproduce`` run the experiments, ``commands`` is ``dlc caption``.
"""
