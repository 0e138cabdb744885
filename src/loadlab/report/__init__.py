"""Rendering what was measured and judged; always re-renderable from the files on disk.

- ``index``: index.html and summary.csv of a run (render).
- ``panels``: its charts, a panel per CPU limit and the view across limits.
- ``table``: its points table, every point with its status and the reasons.
- ``charts``: inline-SVG line charts (Line, line_chart), nothing to load.
- ``compare_page``: a comparison as Markdown and as compare.html (to_markdown, write).
- ``nightly_summary``: the gate's verdict as nightly-summary.md, nightly.json and the job
  page's annotations (write, annotations).
- ``trend``: history.html, each point across nights (render).

Rendering reads the typed results and verdicts and never re-states a threshold that
``measure`` or ``judge`` owns.
"""
