"""The Linux console's rules as the render harness (tests/helpers/vtconsole.py) and the
wizard's console mode (tui/wizard/console.py) model them: vt.c's attributes, the fonts'
glyph sets, contrast, the PNG writer. Pure functions: the unit tier."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from rich.color import Color, ColorSystem
from rich.style import Style

from tests.helpers import vtconsole as vt
from tui.wizard import console

REPO = Path(__file__).resolve().parent.parent
WHITE, BLACK, GREY, LIGHT = 15, 0, 8, 7  # attribute colours (VGA bit order)
RED, CYAN, MAGENTA = 4, 3, 5


def shows(*par: int) -> tuple[int, int]:
    """Foreground and background (attribute colours) after ESC [ par m."""
    st = vt.VcState()
    vt.csi_m(st, par)
    return vt.fg_bg(vt.attr_of(st))


def test_kernel_attribute_rules() -> None:
    assert shows() == (LIGHT, BLACK)  # default_color 0x07
    assert shows(1) == (WHITE, BLACK)  # bold lights the foreground
    assert shows(97, 40) == (WHITE, BLACK)  # 90-97: bold and the normal colour
    assert shows(37, 101) == (LIGHT, RED)  # 100-107: no bright backgrounds
    assert shows(2) == (GREY, BLACK)  # half-bright: halfcolor, grey
    assert shows(3, 31) == (2, BLACK)  # italic: itcolor, green
    assert shows(4, 31) == (CYAN, BLACK)  # underline: ulcolor, cyan
    # The PROBLEM badge: bold reverse red on black shows dark grey on red.
    assert shows(1, 7, 31, 40) == (GREY, RED)
    # Reverse swaps 3 bits only: bright white on cyan becomes cyan on light grey, bright.
    assert shows(7, 97, 46) == (3 | 8, LIGHT)
    # Parameters apply in order: a colour after dim sets the intensity again (90-97).
    assert shows(2, 91) == (RED | 8, BLACK)
    assert shows(0) == shows()


def test_kernel_256_and_truecolour() -> None:
    assert shows(38, 2, 0x55, 0x55, 0x55) == (GREY, BLACK)  # grey 0x55: bold black
    assert shows(38, 2, 0xAA, 0x55, 0x00) == (RED, BLACK)  # brown's green is <= max/2
    assert shows(38, 2, 0xFF, 0xFF, 0xFF) == (WHITE, BLACK)
    assert shows(48, 2, 0xFF, 0x7F, 0x80) == (LIGHT, RED | 1)  # top bits: red and blue
    assert shows(38, 5, 9) == (RED | 8, BLACK)
    assert vt.rgb_from_256(231) == (212, 212, 212)  # 5 * 255 / 6: the kernel's cube
    assert vt.rgb_from_256(255) == (238, 238, 238)


def test_palette_and_contrast() -> None:
    assert vt.PALETTE[WHITE] == (255, 255, 255) and vt.PALETTE[RED] == (0xAA, 0, 0)
    assert vt.PALETTE[6] == (0xAA, 0x55, 0x00)  # brown, not dark yellow
    assert round(vt.contrast(vt.PALETTE[WHITE], vt.PALETTE[BLACK]), 1) == 21.0
    # The numbers: grey on black 2.8, white on cyan 2.9.
    assert round(vt.contrast(vt.PALETTE[GREY], vt.PALETTE[BLACK]), 1) == 2.8
    assert round(vt.contrast(vt.PALETTE[WHITE], vt.PALETTE[CYAN]), 1) == 2.9


def test_fonts() -> None:
    font = vt.lat15()
    assert (font.width, font.height) == (8, 16)
    for ch in "A~é─│┌┐└┘·":
        assert vt.in_lat15(ch) and vt.in_cp437(ch), ch
    # The glyphs: missing from Lat15-Fixed16, from CP437, or both.
    assert {c for c in "▁▃▄▇▌▔🔎" if not vt.in_lat15(c)} == set("▁▃▄▇▌▔🔎")
    assert {c for c in "—…━┃┏┓┗┛▁▃▇▔🔎" if not vt.in_cp437(c)} == set("—…━┃┏┓┗┛▁▃▇▔🔎")
    assert vt.in_cp437("☺") and vt.in_cp437("▄") and not vt.in_cp437("\x01")
    assert font.glyph_for("🔎") == font.glyphs[font.unicode["\ufffd"]]  # the diamond


def test_product_glyph_set_is_both_fonts() -> None:
    both = {c for c in vt.lat15().unicode if ord(c) > 0x7E and vt.in_cp437(c)}
    assert set(console.BOTH_FONTS) == both
    assert all(v in console.SAFE or v == "?" for v in console.LOOKALIKE.values()
               if len(v) == 1)


def test_console_glyphs_keep_width_and_fonts() -> None:
    from rich.cells import cell_len

    text = "ssh-reset-doctor — overview … ━┃┏┓┗┛ ▁▃▄▇▌▔ 🔎 é\u0301 ok"
    out = console.console_glyphs(text)
    assert cell_len(out) == cell_len(text)
    assert all(ch in console.SAFE for ch in out), out
    assert out.startswith("ssh-reset-doctor - overview . ─│┌┐└┘")


def _rich_sgr(style: Style) -> list[int]:
    codes = style._make_ansi_codes(ColorSystem.STANDARD)
    return [int(c) for c in codes.split(";")] if codes else []


STYLES = [
    Style(color=Color.from_ansi(f), bgcolor=Color.from_ansi(b), bold=bold, dim=dim,
          italic=italic, underline=underline, reverse=reverse)
    for f, b in itertools.product(range(16), range(16))
    for bold, dim, italic, underline, reverse in itertools.product((False, True), repeat=5)
    if not (italic and underline)
]


def _kernel(style: Style) -> tuple[int, int]:
    st = vt.VcState()
    vt.csi_m(st, [0, *_rich_sgr(style)])
    return vt.fg_bg(vt.attr_of(st))


def test_product_model_is_the_kernels() -> None:
    """console.shown() (ANSI numbers) agrees with vt.c's rules on what Rich writes."""
    for style in STYLES:
        fg, bg = console.shown(style)
        assert (vt.COLOR_TABLE[fg], vt.COLOR_TABLE[bg]) == _kernel(style), style


def contrast_before(style: Style) -> float:
    fg, bg = _kernel(style)
    return vt.contrast(vt.PALETTE[fg], vt.PALETTE[bg])


@pytest.mark.parametrize("greys_only", [False, True])
def test_console_style_keeps_every_cell_readable(greys_only: bool) -> None:
    for style in STYLES:
        fixed = console.console_style(style, greys_only) or style
        fg, bg = _kernel(fixed)
        assert vt.contrast(vt.PALETTE[fg], vt.PALETTE[bg]) >= 4.5, (style, fixed)
        if style.reverse:
            assert fixed.reverse, style  # reverse marks a row without colour: kept
            real = style + Style(dim=False, italic=False, underline=False)
            if greys_only and contrast_before(real) < 4.5 and _kernel(real)[1] == BLACK:
                assert (fg, bg) == (BLACK, LIGHT), style  # reverse video, as a box
        # The console has no italic, underline or dim: the kernel would show colours.
        assert not (fixed.italic or fixed.underline or fixed.dim), style


def test_png_writer() -> None:
    grid = [[vt.Cell("A" if (x + y) % 7 else "━", x % 16, y % 8) for x in range(80)]
            for y in range(24)]
    data = vt.png(grid)
    assert data == vt.png(grid)  # byte for byte
    width, height, palette, rows = vt.read_png(data)
    assert (width, height) == (640, 384)
    assert palette == [vt.PALETTE[i] for i in range(16)]
    font = vt.lat15()
    glyph = font.glyph_for("A")
    # Cell (1, 0): 'A' in colour 1 on 0; its pixels are the glyph's bits.
    for gy in range(16):
        bits = glyph[gy]
        assert list(rows[gy][8:16]) == [1 if bits >> (7 - gx) & 1 else 0 for gx in range(8)]


def test_console_pngs_decode() -> None:
    shots = sorted((REPO / "screenshots").glob("console-*.png"))
    assert {p.stem for p in shots} == {f"console-{name}" for name, _, _ in vt.SCREENS}
    for path in shots:
        width, height, palette, rows = vt.read_png(path.read_bytes())
        assert (width, height) == (640, 384), path
        assert palette == [vt.PALETTE[i] for i in range(16)], path
        assert max(max(r) for r in rows) < 16


def test_console_mode_is_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.wizard.app import WizardApp, WizardConfig

    monkeypatch.setenv("TERM", "linux")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv(console.CONSOLE_ENV, raising=False)
    app = WizardApp(WizardConfig())
    assert app.console_mode and app.theme == "linux-console"
    assert any(isinstance(f, console.ConsoleFilter) for f in app.get_line_filters())
    assert not WizardApp(WizardConfig(console=False)).console_mode
    monkeypatch.setenv("TERM", "xterm-256color")
    plain = WizardApp(WizardConfig())
    assert not plain.console_mode and plain.theme != "linux-console"
    assert not any(isinstance(f, console.ConsoleFilter) for f in plain.get_line_filters())
    assert WizardApp(WizardConfig(console=True)).console_mode
    monkeypatch.setenv(console.CONSOLE_ENV, "1")
    assert WizardApp(WizardConfig()).console_mode
    assert not WizardApp(WizardConfig(console=False)).console_mode
    monkeypatch.setenv("TERM", "linux")
    monkeypatch.setenv(console.CONSOLE_ENV, "0")
    assert not WizardApp(WizardConfig()).console_mode
