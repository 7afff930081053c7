"""The explorer (the package is `explorer`: `ul.explore` is the function). Takes a source; hands on the live explorer in JupyterLab (`widget`, drawn by
`widget.js` and `widget.css`) and any view as one page (`page`). Its state, with no widgets,
is `state`: presets, views, one window cube, the tables of a view.
"""
