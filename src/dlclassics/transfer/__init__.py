"""Transfer learning: adapt an ImageNet backbone to an image folder, fine-tuned or frozen.

Files, one concern each: ``config`` (recipes), ``data`` (folder scan), ``transforms``, ``model``
(backbone + new head, ImageNet class mapping), ``features`` (frozen-backbone feature cache),
``train`` (the epoch loop), ``evaluate``, ``plots``, ``experiment`` (one run end to end),
``predict``, ``commands`` (the CLI) and ``reproduce``.
"""
