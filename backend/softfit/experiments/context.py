"""What every section gets (`Context`) and gives back (`Section`)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from softfit.experiments.settings import Settings

log = logging.getLogger("softfit.experiments")


@dataclass
class Context:
    """out: where figures go (the staging copy of the report folder); work: rendered scenes (cache)."""

    out: Path
    work: Path
    settings: Settings
    seed: int
    verbose: bool = True
    aloi_root: Path | None = None  # the user's ALOI library (png2/<obj>, mask2/<obj>), fitted in section 1

    def say(self, msg: str) -> None:
        log.info(msg)
        if self.verbose:
            print(f"[experiments {time.strftime('%H:%M:%S')}] {msg}", flush=True)


@dataclass
class Section:
    """One section of the report. tables: (caption, markdown); figures: (caption, file name in out);
    text: paragraphs after the tables, written from the numbers; data: JSON-safe rows; headline: the
    few numbers the summary quotes."""

    number: int
    title: str
    intro: str
    tables: list[tuple[str, str]] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)
    headline: dict = field(default_factory=dict)
    seconds: float = 0.0

    def close(self, rows: list[dict], summarise) -> Section:
        """Keep the section's JSON rows and the text and headline `summarise(rows)` writes from them."""
        self.data["rows"] = rows
        self.text, self.headline = summarise(rows)
        return self

    def add_grid(self, path: Path, grid: list, cell: float, caption: str) -> None:
        """Draw an image grid (`figures.image_grid`) into `path` and list it under `caption`."""
        from softfit.experiments.figures import image_grid

        image_grid(path, grid, cell=cell)
        self.figures.append((caption, path.name))

    def to_dict(self) -> dict:
        return {"number": self.number, "title": self.title, "intro": self.intro,
                "tables": [list(t) for t in self.tables], "figures": [list(f) for f in self.figures],
                "text": self.text, "data": self.data, "headline": self.headline, "seconds": self.seconds}

    @classmethod
    def from_dict(cls, d: dict) -> Section:
        return cls(d["number"], d["title"], d["intro"], [tuple(t) for t in d["tables"]],
                   [tuple(f) for f in d["figures"]], d["text"], d["data"], d["headline"], d["seconds"])
