"""Data sets: where they live (``root``), which there are (``registry``), what they hold
(``manifest``), how to fetch, unpack and verify them (``fetch``, ``archive``, ``staging``), and
how to read images (``images``)."""
