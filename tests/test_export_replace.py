"""Issue 51: "export to notes.md" never replaces a file that is there unless asked ("…, replace it"), and
writes whole or not at all."""

from __future__ import annotations

from engine.chat.replies import export_list
from engine.chat.session import ChatSession
from tests.fakes import FakeScorer


def test_export_refuses_an_existing_file_and_replaces_it_when_asked(grouplens_store, tmp_path):
    s = ChatSession(grouplens_store, "exporter", scorer_factory=FakeScorer, n_candidates=8)
    try:
        list(s.rank(s.handle("something like Toy Story").plan))
        notes = tmp_path / "notes.md"
        notes.write_text("my own notes\n")
        said = s.handle(f"export to {notes}").text
        assert said == (f"Not exported: {notes} exists; say 'export to {notes}, replace it' to overwrite, "
                        "or give another name.")
        assert notes.read_text() == "my own notes\n"
        assert s.handle(f"export to {notes}, replace it").text.startswith(f"Wrote {len(s.shown)} films to {notes}")
        assert notes.read_text().startswith("| # | Title |")
        csv = tmp_path / "list.csv"
        assert s.handle(f"export to {csv}").text.startswith("Wrote")
        first = csv.read_text()
        csv.write_text("x\n")
        assert s.handle(f"export to {csv}, overwrite").text.startswith("Wrote") and csv.read_text() == first
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp left behind
        # the function itself: refused without replace, whatever the wording that reached it
        assert export_list(str(csv), s.shown, s.shown_p_like, s.store).startswith("Not exported:")
        assert export_list(str(csv), s.shown, s.shown_p_like, s.store, replace=True).startswith("Wrote")
        (tmp_path / "folder.csv").mkdir()
        assert "Not exported:" in export_list(str(tmp_path / "folder.csv"), s.shown, s.shown_p_like, s.store, True)
    finally:
        s.close()
