"""The `knowledge_base:` section of the YAML: where write-ups go and what counts as a gap.

    knowledge_base:
      folder: /srv/kb          # write-ups: drafts in folder/drafts/, published articles in folder/
      gap_days: 30             # `/kb gaps` with no period looks this far back
      gap_min_issues: 2        # an alert (or a staff issue's title) counts as recurring from this many issues

Without `folder`, write-ups go to the first KB_PATHS folder, else to `kb/` beside the SQLite database
(`./data/kb` by default); bot/ works that out and adds the folder to what the knowledge base loads.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from core.settings_types import StrictModel


class KnowledgeSettings(StrictModel):
    folder: Path | None = None
    gap_days: int = Field(default=30, ge=1, le=3660)
    gap_min_issues: int = Field(default=2, ge=2, le=1000)
