"""Pure figure builders: altair charts and pyvis graphs from records and arrays. No streamlit here.

Charts leave colours of text, axes and background to the renderer, so inside the dashboard they follow Streamlit's
light or dark theme; :func:`neurodyn.viz.theme.paper_theme` gives exported figures a fixed paper style.
"""
