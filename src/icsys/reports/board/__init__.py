"""The board pack: content (what it holds), pack (gathering it from the store and writing it), html and pdf
(drawing it). `board_pack` builds and writes one."""

from icsys.reports.board.content import BoardPack, EscalationPanel, StandardPanel, fmt
from icsys.reports.board.pack import BoardError, board_pack, build_pack, write_pack

__all__ = ["BoardError", "BoardPack", "EscalationPanel", "StandardPanel", "board_pack", "build_pack", "fmt",
           "write_pack"]
