"""Sphinx configuration of the series' website (`make site`, see helpers/site.py).

The pages are the notebooks that `helpers.run` executed: myst-nb renders their stored outputs and
never executes anything. Every asset is local (MathJax from sphinx-mathjax-offline, no widget
JavaScript from a CDN), so the built site works opened from disk without a network.
"""

project = "SOM codes of deep networks"
author = "the SOM-codes series"
html_title = "SOM codes of deep networks"

extensions = ["myst_nb", "sphinx.ext.mathjax", "sphinx-mathjax-offline"]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]  # lessons put "### Learning goals" right under their title

# Staged by helpers/site.py: the README and the generated lesson map are included, not pages.
exclude_patterns = ["README.md", "lesson_map.md", "build_info.md", "_build"]

nb_execution_mode = "off"  # the outputs come from `helpers.run`; the site executes nothing
nb_merge_streams = True  # consecutive print outputs of a cell form one block
# Widget JavaScript would come from a CDN: the site loads none and shows each widget's text fallback
# (the lessons draw the widget's default figure as a plain image above it).
nb_ipywidgets_js = {}
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]

html_theme = "sphinx_book_theme"
html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "navbar_persistent": [],  # the sidebar has the search field; no second one in the header
}
html_static_path = ["_static"]
html_css_files = ["series.css"]  # padded table cells, wide outputs scroll with a visible scrollbar
html_show_sourcelink = False
html_show_search_summary = False  # summaries are fetched per page, which a browser refuses from disk
