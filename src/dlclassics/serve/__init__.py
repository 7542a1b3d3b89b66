"""``dlc serve``: a local page with a tab per model, built on the Python API.

``commands`` parses the options and loads the models; ``server`` answers the page's requests
(Python's ``http.server``: Gradio, the field's usual tool, cannot be installed beside Pillow 13);
``tabs`` is what each tab does with the API; ``uploads`` checks and decodes images; ``page`` is
the page itself.
"""
