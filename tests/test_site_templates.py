"""The report documents (decision reports, weekly and monthly summaries) render through the dashboard's templates:
escaped, self-contained, with the site's stylesheet."""

from __future__ import annotations

import pandas as pd
from site_support import Elements

from exptrack_pipeline.reports.document import Document
from exptrack_pipeline.site.templating import stylesheet


def test_a_document_renders_through_the_site_template():
    doc = Document("Report for `exp` <b>")
    doc.heading("Primary metric")
    doc.para("Recommendation: **ship `grid`**")
    doc.bullets(["one", "two <script>"])
    doc.table(pd.DataFrame({"metric": ["<x>"], "lift": ["+1.0%"]}), "tbl-primary")
    doc.table(pd.DataFrame(), "tbl-empty")
    doc.image("f.png", b"\x89PNG\r\n", "forest plot")
    page = doc.html()
    assert stylesheet().strip()[:40] in page  # the dashboard's CSS, inline
    assert "<h1>Report for <code>exp</code> &lt;b&gt;</h1>" in page
    assert "Recommendation: <strong>ship <code>grid</code></strong>" in page
    assert "<script>" not in page and "two &lt;script&gt;" in page
    cells = [a for a, ctx in Elements(page).find("td", id="tbl-primary")]
    assert len(cells) == 2 and "<td>&lt;x&gt;</td>" in page
    assert "tbl-empty" not in page and "<em>none</em>" in page
    assert "src='data:image/png;base64,iVBORw0K'" in page
    assert "http://" not in page and "https://" not in page
