"""Neural style transfer (Gatys et al.): optimise an image's pixels so that its CNN features keep
the content of one picture and the Gram-matrix statistics of others.

A run reads its settings (``config``) and pictures (``images``), measures ``losses`` on a frozen
backbone's ``features`` with per-backbone ``presets``, optimises the pixels (``adam``,
``optimize``; coarse to fine in ``multiscale``, in tiles in ``tiles``, keeping the photo's colours
with ``colors``) and writes its files (``run``); ``batch`` paints a folder of photos over torchrun
processes; ``commands`` is ``dlc style`` and ``reproduce`` the part of ``dlc reproduce``.
"""
