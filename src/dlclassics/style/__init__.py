"""Neural style transfer (Gatys et al.): optimise an image's pixels so that its CNN features keep
the content of one picture and the Gram-matrix statistics of others.

- ``config``: ``StyleConfig``, one run's settings (filled from ``dlc style``'s arguments).
- ``losses``: content, Gram-matrix style and total-variation losses (the write-up's exact sums).
- ``images``: reading any picture into a pixel tensor at a chosen size, and writing results.
- ``features``: a frozen backbone that returns the content and style layers' features.
- ``presets``: per-backbone layer choices and weights; the three reference pairs.
- ``adam``, ``optimize``: the Adam / L-BFGS loop over the pixels, with the loss history.
- ``run``: one complete run that writes the image, figures and ``metrics.json``; ``batch``:
  a folder of photos, split across ``torchrun`` processes.
- ``commands``: ``dlc style``; ``reproduce``: the reference experiment for ``dlc reproduce``.
"""
