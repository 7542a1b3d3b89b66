"""Why a model decided what it did: Grad-CAM heat maps for the image classifier (``gradcam``),
word attributions for the sentiment classifier (``attributions``), and the deletion checks that
show both mean something (``deletion``).

    from dlclassics import sentiment, transfer
    from dlclassics.explain.attributions import word_attributions
    from dlclassics.explain.gradcam import grad_cam

    [heat] = grad_cam(transfer.load("runs/t/freeze/best.pt"), ["a.jpg"])
    heat.label, heat.heatmap.shape, heat.overlay().save("a_gradcam.png")
    word_attributions(sentiment.load(), ["Great food, rude staff."])[0].pairs()

Both work on the predictors of the Python API (``transfer.load``, ``sentiment.load``), never on
a second copy of the models, so an explanation is always of the prediction the user gets.
"""
