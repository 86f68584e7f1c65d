"""Rich tables over what the store knows (the leaderboard, the judges' audit), shared by the
command line (`loco stats --leaderboard`) and the workbench's leaderboard screen. Every cell is
neutralised text: names and reasons come from models, servers and files."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from loco_tui.safe_text import neutralise_line

if TYPE_CHECKING:
    from rich.console import RenderableType

    from loco_tui.store.leaderboard import BoardResult, Leaderboard


def cell(text: str | None, style: str = "") -> Text:
    """A table cell from untrusted text ("—" for none)."""
    return Text(neutralise_line(text) if text else "—", style=style)


def num(value: float | int | None, fmt: str = "{:.2f}") -> str:
    return "—" if value is None else fmt.format(value)


def agreement_line(board: Leaderboard) -> Text:
    agreement = board.agreement
    line = Text("Judge agrees with you: ", style="bold")
    if agreement.compared:
        assert agreement.rate is not None
        line.append(f"{agreement.rate:.0%} ({agreement.agreed} of {agreement.compared} runs "
                    "you both picked from)")
    else:
        line.append("— (no run has both a judge's pick and yours)", "dim")
    if agreement.person_tie or agreement.person_all_bad:
        line.append(f" · you saw no winner where the judge picked one: "
                    f"{agreement.person_tie} tie, {agreement.person_all_bad} all bad", "dim")
    return line


def leaderboard_renderables(board: Leaderboard) -> list[RenderableType]:
    """The two boards, the agreement line, the judges' audit and how to read the ratings."""
    out: list[RenderableType] = []
    for result, title in ((board.judge, "Judge's verdicts"), (board.human, "Your votes")):
        out += [board_table(result, title, board.min_games), Text("")]
    out.append(agreement_line(board))
    if board.judges:
        out.append(judges_table(board))
    out.append(Text(f"{board.method}. Ratings: 1000 = the average model, +400 = 10:1 odds. "
                    f"A rating needs {board.min_games} games to count.", style="dim"))
    return out


def board_table(result: BoardResult, title: str, min_games: int) -> Any:
    table = Table(title=title, title_justify="left", title_style="bold", box=None,
                  pad_edge=False, header_style="bold")
    for name in ("#", "Model", "Rating", "95% CI", "Games", "W/L/T", "Note"):
        table.add_column(name, justify="right" if name in ("#", "Rating", "Games", "W/L/T")
                         else "left")
    if not result.standings:
        table.add_row(cell(None), cell("no head-to-head verdicts yet", "dim"), *[cell(None)]
                      * 5)
        return table
    for s in result.standings:
        name = s.model + (f" · {s.persona}" if s.persona else "")
        ci = "—" if s.ci_low is None or s.ci_high is None else f"{s.ci_low:.0f} – {s.ci_high:.0f}"
        notes = []
        if s.provisional:
            notes.append(f"provisional: {s.needs} more game{'' if s.needs == 1 else 's'}")
        if s.all_bad:
            notes.append(f"all bad ×{s.all_bad}")
        style = "dim" if s.provisional else ""
        table.add_row(cell(num(s.rank, "{}")), cell(name, "bold" if not s.provisional
                                                       else "dim"),
                      cell(num(s.rating, "{:.0f}"), style), cell(ci, style),
                      cell(str(s.games), style), cell(f"{s.wins}/{s.losses}/{s.ties}", style),
                      cell(", ".join(notes), "yellow" if s.provisional else "dim"))
    table.caption = (f"{result.verdicts} verdicts, {result.games} head-to-head games · a "
                     f"rating needs {min_games} games")
    table.caption_style = "dim"
    table.caption_justify = "left"
    return table


def judges_table(board: Leaderboard) -> Any:
    table = Table(title="Judges", title_justify="left", title_style="bold", box=None,
                  pad_edge=False, header_style="bold")
    for name in ("Judge model", "Verdicts", "Readable", "Schema", "Logprob", "Position",
                 "Agrees with you"):
        table.add_column(name, justify="left" if name == "Judge model" else "right")
    for j in board.judges:
        position = ("—" if not j.position_checked else
                    f"{j.position_inconsistent}/{j.position_checked} flipped "
                    f"({j.inconsistency_rate or 0:.0%})")
        a = j.agreement
        agrees = "—" if not a.compared else f"{a.agreed}/{a.compared} ({a.rate or 0:.0%})"
        table.add_row(cell(j.model, "bold"), cell(str(j.verdicts)), cell(str(j.readable)),
                      cell(str(j.via_schema)), cell(str(j.logprob_confidence)),
                      cell(position, "red" if j.position_inconsistent else ""),
                      cell(agrees))
    return table


