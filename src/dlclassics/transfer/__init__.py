"""Transfer learning: adapt an ImageNet backbone to an image folder, fine-tuned or frozen.

Files, one concern each: ``commands`` (the CLI), ``config`` (the run's settings and the recipes),
``data`` (folder scan), ``transforms``, ``model`` (backbone + new head, the ImageNet class
mapping, scoring), ``features`` (the frozen-backbone feature cache), ``run`` (one run end to end,
on the shared training loop), ``figures`` (the predictions grid), ``predict`` and ``reproduce``.
"""
