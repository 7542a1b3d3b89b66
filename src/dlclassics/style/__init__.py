"""Neural style transfer (Gatys et al.): optimise an image's pixels so that its CNN features keep
the content of one picture and the Gram-matrix statistics of others.

- ``losses``: content, Gram-matrix style and total-variation losses (SPEC.md's exact sums).
- ``images``: reading any picture into a pixel tensor at a chosen size, and writing results.
- ``features``: a frozen backbone that returns the content and style layers' features.
- ``presets``: per-backbone layer choices and weights; the three reference pairs.
- ``optimize``: the Adam / L-BFGS loop over the pixels, with the loss history.
- ``plots``: the loss-curve figure and the content | style | result panel.
- ``run``: one complete run that writes the image, figures and ``metrics.json``.
- ``commands``: ``dlc style``; ``reproduce``: the reference experiment for ``dlc reproduce``.
"""
