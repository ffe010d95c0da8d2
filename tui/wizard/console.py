"""The look for the Linux virtual terminal (TERM=linux), the cloud console's VNC view.

That terminal draws with a 256-glyph PSF font (Debian's Lat15-Fixed16, or the kernel's own
CP437 font) and the kernel's colour model (drivers/tty/vt/vt.c): 8 background colours, bright
backgrounds fall back to normal ones, reverse video swaps only the 3-bit colours, bold lights
the foreground, dim/italic/underline replace the foreground with grey/green/cyan.

Console mode (TERM=linux; WizardConfig.console, i.e. --console, or the environment variable
SSH_RESET_DOCTOR_CONSOLE=1/0 force it on or off) adds:
- a theme of VGA palette colours and console.tcss (single-line borders, an opaque backdrop
  behind dialogs, no half-block focus bar);
- ConsoleFilter, a Textual line filter on everything drawn: characters outside both fonts
  become a same-width look-alike or '?'; italic, underline and dim are dropped (the kernel
  would turn them into green, cyan and dark grey); a cell whose colours would fall below
  4.5:1 once the kernel has applied its rules gets a foreground that keeps 4.5:1 (the
  brighter or darker twin of its colour, else white, black or a grey).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from rich.cells import cell_len
from rich.color import Color, ColorSystem, ColorType
from rich.segment import Segment
from rich.style import Style
from textual.color import Color as TextualColor
from textual.filter import LineFilter
from textual.theme import Theme

# Characters both console fonts have beyond ASCII: Lat15-Fixed16's Unicode table and CP437
# (tests/test_console_look.py checks this against the real font).
BOTH_FONTS = (
    "\u00a0¡¢£¥§ª«¬°±²µ¶·º»¼½¿ÄÅÆÇÉÑÖÜßàáâäåæçèéêëìíîïñòóôö÷ùúûüÿƒπ•‼ⁿ₧←↑→↓∞∩≈≡≤≥"
    "─│┌┐└┘├┤┬┴┼═║╒╓╔╕╖╗╘╙╚╛╜╝╞╟╠╡╢╣╤╥╦╧╨╩╪╫╬█░▒■▲▼♦"
)
SAFE = frozenset(chr(c) for c in range(0x20, 0x7F)) | frozenset(BOTH_FONTS)

# Same-width stand-ins for what the wizard and Textual draw (heavy lines, partial blocks,
# typographic punctuation); anything else outside SAFE becomes '?'.
LOOKALIKE = {
    "—": "-", "–": "-", "‐": "-", "−": "-", "…": ".", "‘": "'", "’": "'", "“": '"', "”": '"',
    "━": "─", "┃": "│", "┏": "┌", "┓": "┐", "┗": "└", "┛": "┘", "┣": "├", "┫": "┤",
    "╭": "┌", "╮": "┐", "╰": "└", "╯": "┘", "╍": "─", "╏": "│", "▀": " ", "▔": " ",
    "▁": " ", "▂": " ", "▃": " ", "▄": " ", "▅": "█", "▆": "█", "▇": "█", "▉": "█",
    "▊": "│", "▋": "│", "▌": "│", "▍": "│", "▎": "│", "▏": "│", "▐": "│", "▕": "│",
    "▓": "▒", "✓": "+", "✔": "+", "✗": "x", "✘": "x", "→": "→", "►": ">", "▶": ">",
    "◀": "<", "◄": "<", "⏎": " ", "🔎": ">",  # the command palette's prompt
}


@lru_cache(maxsize=4096)
def console_glyphs(text: str) -> str:
    """`text` with every character the console fonts lack replaced, cell width kept."""
    if all(ch in SAFE for ch in text):
        return text
    out = []
    for ch in text:
        if ch in SAFE:
            out.append(ch)
            continue
        width = cell_len(ch)
        if width == 0:  # a combining mark: the console has none
            continue
        sub = LOOKALIKE.get(ch, "?")
        out.append(sub if width == 1 else sub + " " * (width - 1))
    return "".join(out)


# --- the kernel's colour model (what the console shows for a Rich style) ------------------

# ANSI colour n (SGR 30+n) <-> the VGA attribute's colour bits (its own inverse).
COLOR_TABLE = (0, 4, 2, 6, 1, 5, 3, 7, 8, 12, 10, 14, 9, 13, 11, 15)
# The VGA palette in ANSI order: the kernel's default_red/grn/blu (Rich's standard palette).
VGA = ((0x00, 0x00, 0x00), (0xAA, 0x00, 0x00), (0x00, 0xAA, 0x00), (0xAA, 0x55, 0x00),
       (0x00, 0x00, 0xAA), (0xAA, 0x00, 0xAA), (0x00, 0xAA, 0xAA), (0xAA, 0xAA, 0xAA),
       (0x55, 0x55, 0x55), (0xFF, 0x55, 0x55), (0x55, 0xFF, 0x55), (0xFF, 0xFF, 0x55),
       (0x55, 0x55, 0xFF), (0xFF, 0x55, 0xFF), (0x55, 0xFF, 0xFF), (0xFF, 0xFF, 0xFF))
MIN_CONTRAST = 4.5
GREYS = (15, 0, 7, 8)  # what NO_COLOR may use (ANSI numbers)


def _lum(ansi: int) -> float:
    def lin(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(v) for v in VGA[ansi])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: int, bg: int) -> float:
    """WCAG contrast of two VGA colours (ANSI numbers)."""
    a, b = sorted((_lum(fg), _lum(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def _standard(color: Color | None, default: int) -> int:
    """The ANSI number Rich emits for `color` on a 16-colour terminal (TERM=linux)."""
    if color is None or color.type == ColorType.DEFAULT:
        return default
    number = color.downgrade(ColorSystem.STANDARD).number
    return default if number is None else number


def shown(style: Style | None) -> tuple[int, int]:
    """The foreground and background (ANSI numbers) the Linux console shows for text in
    `style` as Rich writes it (attributes first, then 30-37/90-97, then 40-47/100-107):
    vt.c's csi_m and build_attr with the default itcolor, ulcolor and halfcolor."""
    style = style or Style()
    fg = _standard(style.color, 7)
    bg = _standard(style.bgcolor, 0)
    intensity = 2 if style.dim else (1 if not style.bold else 3)  # 2 half, 1 normal, 3 bold
    if style.bold and style.dim:
        intensity = 2  # Rich writes 1 then 2: the later wins
    if fg >= 8:
        intensity = 3  # 90-97 set bold
    a = (COLOR_TABLE[bg & 7] << 4) | COLOR_TABLE[fg & 7]
    if style.italic:
        a = (a & 0xF0) | 2
    elif style.underline:
        a = (a & 0xF0) | 3
    elif intensity == 2:
        a = (a & 0xF0) | 8
    if style.reverse:
        a = (a & 0x88) | (((a >> 4) | (a << 4)) & 0x77)
    if intensity == 3:
        a ^= 0x08
    return COLOR_TABLE[a & 0x0F], COLOR_TABLE[(a >> 4) & 0x07]


_PLAIN = Style(dim=False, italic=False, underline=False, bold=False, blink=False)


_NO_FAKES = Style(dim=False, italic=False, underline=False)


@lru_cache(maxsize=4096)
def console_style(style: Style | None, greys_only: bool = False) -> Style | None:
    """`style` as the console should get it (None: unchanged): without italic, underline and
    dim (the console has none of them and shows green, cyan or dark grey instead), and with
    a foreground that keeps contrast >= 4.5:1 once the kernel's rules have applied.
    `greys_only` (NO_COLOR): new foregrounds are black, greys or white."""
    if style is None:
        return None
    faked = style.italic or style.underline or style.dim
    base = style + _NO_FAKES if faked else style
    fg, bg = shown(base)
    if contrast(fg, bg) >= MIN_CONTRAST:
        return base if faked else None
    if greys_only and base.reverse and bg == 0:
        # Reverse that came out dark on dark: show it as reverse video does, black on light
        # grey (a badge such as PROBLEM stays a box without colour).
        return base + _PLAIN + Style(color=Color.from_ansi(7), bgcolor=Color.from_ansi(0),
                                     reverse=True)
    palette = GREYS if greys_only else range(16)
    candidates = [fg, fg ^ 8, *GREYS] if fg in palette else list(GREYS)
    new_fg = next(c for c in candidates if contrast(c, bg) >= MIN_CONTRAST)
    if base.reverse:
        # Keep reverse (it marks a row without colour): written as the swap of what shows.
        return base + _PLAIN + Style(color=Color.from_ansi(bg),
                                     bgcolor=Color.from_ansi(new_fg & 7),
                                     bold=new_fg >= 8, reverse=True)
    return base + _PLAIN + Style(color=Color.from_ansi(new_fg), bgcolor=Color.from_ansi(bg))


class ConsoleFilter(LineFilter):
    """Glyphs both console fonts have, colours that keep 4.5:1 under the kernel's rules."""

    def __init__(self, greys_only: bool = False) -> None:
        super().__init__()
        self.greys_only = greys_only

    def apply(self, segments: list[Segment], background: TextualColor) -> list[Segment]:
        out = []
        for seg in segments:
            if seg.control:
                out.append(seg)
                continue
            text, style = seg.text, seg.style
            new_style = console_style(style, self.greys_only) if text.strip() else None
            out.append(Segment(console_glyphs(text), new_style or style))
        return out


# The VGA palette's colours only, so that nothing in between is rounded by Rich and the kernel.
_THEME = dict(
    name="linux-console",
    primary="#00AAAA",
    secondary="#AA00AA",
    accent="#FFFF55",
    foreground="#AAAAAA",
    background="#000000",
    surface="#000000",
    panel="#0000AA",
    boost="#000000",
    warning="#FFFF55",
    error="#FF5555",
    success="#55FF55",
    dark=True,
    variables={
        # Black on light grey: a grey survives NO_COLOR (cyan would turn dark grey, which
        # the console shows as black).
        "block-cursor-foreground": "#000000",
        "block-cursor-background": "#AAAAAA",
        "block-cursor-text-style": "none",
        "block-cursor-blurred-foreground": "#FFFFFF",
        "block-cursor-blurred-background": "#0000AA",
        "block-cursor-blurred-text-style": "bold",
        "footer-key-foreground": "#FFFF55",
        "footer-description-foreground": "#AAAAAA",
        "footer-background": "#000000",
        "footer-item-background": "#000000",
        "input-cursor-foreground": "#000000",
        "input-cursor-background": "#AAAAAA",
        "input-selection-background": "#0000AA",
        "scrollbar": "#555555",
        "scrollbar-background": "#000000",
        "scrollbar-hover": "#AAAAAA",
        "scrollbar-active": "#FFFFFF",
        "text-muted": "#AAAAAA",
        "foreground-muted": "#AAAAAA",
        "text-disabled": "#AAAAAA",
        "border": "#00AAAA",
        "border-blurred": "#555555",
    },
)


def console_theme(no_color: bool = False) -> Theme:
    """The console theme. With NO_COLOR the highlighted row is still black on light grey."""
    theme = Theme(**_THEME)  # type: ignore[arg-type]
    if no_color:  # the unfocused list's row: grey, not blue (greys only)
        theme.variables.update({"block-cursor-blurred-foreground": "#FFFFFF",
                                "block-cursor-blurred-background": "#555555"})
    return theme


# "1" or "0": console mode on or off whatever TERM says (for tests and odd terminals).
CONSOLE_ENV = "SSH_RESET_DOCTOR_CONSOLE"


def wants_console(forced: bool | None, environ: Mapping[str, str]) -> bool:
    """Console mode: as forced (--console), else as SSH_RESET_DOCTOR_CONSOLE says, else
    when the terminal is the Linux console (TERM=linux)."""
    if forced is not None:
        return forced
    if environ.get(CONSOLE_ENV) in ("0", "1"):
        return environ[CONSOLE_ENV] == "1"
    return environ.get("TERM", "") == "linux"
