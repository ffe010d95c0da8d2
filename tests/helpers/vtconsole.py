"""The Linux virtual terminal as the VNC console shows it: the app's real bytes from a pty,
a terminal model (pyte), the kernel's attribute rules, a PSF console font, a PNG.

What the kernel does (drivers/tty/vt/vt.c, can_do_color; vgacon's con_build_attr is the same):
- csi_m: 30-37/40-47 pick one of 8 colours through color_table (ANSI order to the VGA
  attribute's bit order); 90-97 set the *intensity* to bold and the normal colour; 100-107
  are 40-47 (no bright backgrounds); 38/48 with 5;n or 2;r;g;b go through rgb_from_256 and
  rgb_foreground (3-bit hue, bold when max > 0xaa, grey 0x55 as bold black) or
  rgb_background (the top bit of each component: dark colours only).
- build_attr: italic, else underline, else half-bright replace the foreground with itcolor
  (2, green), ulcolor (3, cyan) or halfcolor (8, dark grey); reverse swaps the 3-bit colours
  and leaves the foreground's intensity bit where it is; blink toggles bit 7; bold toggles the
  foreground's intensity bit (bit 3).
- The default palette (default_red/grn/blu) is the VGA one, indexed in ANSI order; an
  attribute colour v shows palette[color_table[v]].
- A character the font's Unicode table lacks is drawn as its U+FFFD glyph (or '?').
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyte
from pyte.screens import Char

COLS, ROWS = 80, 24
LAT15 = Path("/usr/share/consolefonts/Lat15-Fixed16.psf.gz")

# ANSI colour n (30+n) -> the VGA attribute's colour bits (bit 0 blue, 1 green, 2 red);
# the table is its own inverse.
COLOR_TABLE = (0, 4, 2, 6, 1, 5, 3, 7, 8, 12, 10, 14, 9, 13, 11, 15)
# The kernel's default palette, in ANSI order.
DEFAULT_RED = (0x00, 0xAA, 0x00, 0xAA, 0x00, 0xAA, 0x00, 0xAA,
               0x55, 0xFF, 0x55, 0xFF, 0x55, 0xFF, 0x55, 0xFF)
DEFAULT_GRN = (0x00, 0x00, 0xAA, 0x55, 0x00, 0x00, 0xAA, 0xAA,
               0x55, 0x55, 0xFF, 0xFF, 0x55, 0x55, 0xFF, 0xFF)
DEFAULT_BLU = (0x00, 0x00, 0x00, 0x00, 0xAA, 0xAA, 0xAA, 0xAA,
               0x55, 0x55, 0x55, 0x55, 0xFF, 0xFF, 0xFF, 0xFF)
DEF_COLOR = 0x07  # default_color: white on black
ITCOLOR, ULCOLOR, HALFCOLOR = 2, 3, 0x08  # default_italic_color, default_underline_color

HALF_BRIGHT, NORMAL, BOLD = 0, 1, 2  # enum vc_intensity
NPAR = 16


def vga_rgb(colour: int) -> tuple[int, int, int]:
    """The RGB the console shows for attribute colour bits `colour` (0-15)."""
    k = COLOR_TABLE[colour & 0x0F]
    return DEFAULT_RED[k], DEFAULT_GRN[k], DEFAULT_BLU[k]


PALETTE = tuple(vga_rgb(v) for v in range(16))  # by attribute colour


@dataclass
class VcState:
    """vc->state's attribute part."""

    color: int = DEF_COLOR
    intensity: int = NORMAL
    italic: bool = False
    underline: bool = False
    blink: bool = False
    reverse: bool = False

    def default_attr(self) -> None:
        self.color, self.intensity = DEF_COLOR, NORMAL
        self.italic = self.underline = self.blink = self.reverse = False


def rgb_from_256(i: int) -> tuple[int, int, int]:
    if i < 8:
        return (0xAA if i & 1 else 0, 0xAA if i & 2 else 0, 0xAA if i & 4 else 0)
    if i < 16:
        return (0xFF if i & 1 else 0x55, 0xFF if i & 2 else 0x55, 0xFF if i & 4 else 0x55)
    if i < 232:
        i -= 16
        b = i % 6 * 255 // 6
        i //= 6
        g = i % 6 * 255 // 6
        i //= 6
        return (i * 255 // 6, g, b)
    v = (i * 10 - 2312) & 0xFF  # u8
    return (v, v, v)


def rgb_foreground(st: VcState, rgb: tuple[int, int, int]) -> None:
    r, g, b = rgb
    mx = max(rgb)
    hue = (4 if r > mx // 2 else 0) | (2 if g > mx // 2 else 0) | (1 if b > mx // 2 else 0)
    if hue == 7 and mx <= 0x55:
        hue = 0
        st.intensity = BOLD
    elif mx > 0xAA:
        st.intensity = BOLD
    else:
        st.intensity = NORMAL
    st.color = (st.color & 0xF0) | hue


def rgb_background(st: VcState, rgb: tuple[int, int, int]) -> None:
    r, g, b = rgb
    st.color = (st.color & 0x0F) | (r & 0x80) >> 1 | (g & 0x80) >> 2 | (b & 0x80) >> 3


def _t416(st: VcState, par: Sequence[int], i: int, fg: bool) -> int:
    set_color = rgb_foreground if fg else rgb_background
    i += 1
    if i >= len(par):
        return i
    if par[i] == 5 and i + 1 < len(par):
        i += 1
        set_color(st, rgb_from_256(par[i] & 0xFF))
    elif par[i] == 2 and i + 3 < len(par):
        set_color(st, (par[i + 1] & 0xFF, par[i + 2] & 0xFF, par[i + 3] & 0xFF))
        i += 3
    return i


def csi_m(st: VcState, par: Sequence[int]) -> None:
    """vt.c's csi_m on the parameters of one ESC [ ... m (none: 0)."""
    par = list(par) or [0]
    if len(par) > NPAR:
        raise ValueError(f"{len(par)} SGR parameters: the console keeps {NPAR}")
    i = 0
    while i < len(par):
        p = par[i]
        if p == 0:
            st.default_attr()
        elif p == 1:
            st.intensity = BOLD
        elif p == 2:
            st.intensity = HALF_BRIGHT
        elif p == 3:
            st.italic = True
        elif p in (4, 21):
            st.underline = True
        elif p == 5:
            st.blink = True
        elif p == 7:
            st.reverse = True
        elif p == 22:
            st.intensity = NORMAL
        elif p == 23:
            st.italic = False
        elif p == 24:
            st.underline = False
        elif p == 25:
            st.blink = False
        elif p == 27:
            st.reverse = False
        elif p in (38, 48):
            i = _t416(st, par, i, p == 38)
        elif p == 39:
            st.color = (DEF_COLOR & 0x0F) | (st.color & 0xF0)
        elif p == 49:
            st.color = (DEF_COLOR & 0xF0) | (st.color & 0x0F)
        elif 30 <= p <= 37 or 90 <= p <= 97:
            if p >= 90:
                st.intensity = BOLD
            st.color = COLOR_TABLE[p % 10] | (st.color & 0xF0)
        elif 40 <= p <= 47 or 100 <= p <= 107:
            st.color = (COLOR_TABLE[p % 10] << 4) | (st.color & 0x0F)
        i += 1


def build_attr(color: int, intensity: int, blink: bool, underline: bool, reverse: bool,
               italic: bool) -> int:
    a = color
    if italic:
        a = (a & 0xF0) | ITCOLOR
    elif underline:
        a = (a & 0xF0) | ULCOLOR
    elif intensity == HALF_BRIGHT:
        a = (a & 0xF0) | HALFCOLOR
    if reverse:
        a = (a & 0x88) | (((a >> 4) | (a << 4)) & 0x77)
    if blink:
        a ^= 0x80
    if intensity == BOLD:
        a ^= 0x08
    return a & 0xFF


def attr_of(st: VcState) -> int:
    return build_attr(st.color, st.intensity, st.blink, st.underline, st.reverse, st.italic)


def erase_attr_of(st: VcState) -> int:
    """update_attr's vc_video_erase_char: what erased cells get."""
    return build_attr(st.color, NORMAL, st.blink, False, False, False)


def fg_bg(attr: int) -> tuple[int, int]:
    """Foreground (4 bits) and background (3 bits; bit 7 is blink on vgacon)."""
    return attr & 0x0F, (attr >> 4) & 0x07


# --- the terminal model ---------------------------------------------------------------


def _char(data: str, attr: int, st: VcState | None = None) -> Char:
    """A pyte cell whose fg/bg are the kernel's final colours (attribute bits), and whose
    flags are what the application asked for (to judge looks without colour)."""
    fg, bg = fg_bg(attr)
    return Char(data, fg, bg, bold=bool(st and st.intensity == BOLD),  # type: ignore[arg-type]
                italics=bool(st and st.italic), underscore=bool(st and st.underline),
                strikethrough=False, reverse=bool(st and st.reverse),
                blink=bool(st and st.blink))


class KernelScreen(pyte.Screen):
    """pyte's screen with vt.c's SGR handling: each cell holds the final attribute."""

    def __init__(self, columns: int = COLS, lines: int = ROWS) -> None:
        self.vc = VcState()
        super().__init__(columns, lines)

    @property
    def default_char(self) -> Char:  # type: ignore[override]
        return _char(" ", DEF_COLOR)

    def reset(self) -> None:
        super().reset()
        self.vc = VcState()
        self.cursor.attrs = _char(" ", attr_of(self.vc), self.vc)

    def select_graphic_rendition(self, *attrs: int, private: bool = False) -> None:
        if private:
            return
        csi_m(self.vc, attrs)
        self.cursor.attrs = _char(" ", attr_of(self.vc), self.vc)

    def _erasing(self, method: str, *args: object, **kw: object) -> None:
        keep = self.cursor.attrs
        self.cursor.attrs = _char(" ", erase_attr_of(self.vc))
        try:
            getattr(super(), method)(*args, **kw)
        finally:
            self.cursor.attrs = keep

    def erase_in_line(self, how: int = 0, private: bool = False) -> None:
        self._erasing("erase_in_line", how, private=private)

    def erase_in_display(self, how: int = 0, *args: object, **kw: object) -> None:
        self._erasing("erase_in_display", how, *args, **kw)

    def erase_characters(self, count: int | None = None) -> None:
        self._erasing("erase_characters", count)


@dataclass(frozen=True)
class Cell:
    ch: str
    fg: int  # attribute colour bits 0-15, after the kernel's rules
    bg: int  # 0-7
    bold: bool = False  # what the application asked for
    reverse: bool = False
    italic: bool = False
    underline: bool = False


Grid = list[list[Cell]]


def grid_of(screen: KernelScreen) -> Grid:
    out: Grid = []
    for y in range(screen.lines):
        row = screen.buffer[y]
        cells = []
        for x in range(screen.columns):
            c = row[x]
            cells.append(Cell(c.data or " ", int(c.fg), int(c.bg), c.bold, c.reverse,  # type: ignore[call-overload]
                              c.italics, c.underscore))
        out.append(cells)
    return out


def text_of(grid: Grid) -> str:
    return "\n".join("".join(c.ch for c in row).rstrip() for row in grid)


# --- glyphs: the PSF font and the kernel's CP437 font ------------------------------------


@dataclass
class PsfFont:
    width: int
    height: int
    glyphs: list[bytes]
    unicode: dict[str, int] = field(default_factory=dict)  # one character -> glyph index

    @property
    def row_bytes(self) -> int:
        return (self.width + 7) // 8

    def glyph_for(self, ch: str) -> bytes:
        """What the console draws for `ch`: its glyph, else U+FFFD's, else '?''s."""
        for c in (ch, "\ufffd", "?"):
            if c in self.unicode:
                return self.glyphs[self.unicode[c]]
        return self.glyphs[0]


PSF1_MAGIC = b"\x36\x04"
PSF2_MAGIC = 0x864AB572


def parse_psf(data: bytes) -> PsfFont:
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if data[:2] == PSF1_MAGIC:
        mode, height = data[2], data[3]
        count = 512 if mode & 1 else 256
        glyphs = [data[4 + i * height:4 + (i + 1) * height] for i in range(count)]
        font = PsfFont(8, height, glyphs)
        if mode & 2:  # the table: u16 entries, 0xFFFE starts a sequence, 0xFFFF ends a glyph
            pos, i = 4 + count * height, 0
            while i < count and pos + 1 < len(data):
                (u,) = struct.unpack_from("<H", data, pos)
                pos += 2
                if u == 0xFFFF:
                    i += 1
                elif u != 0xFFFE:
                    font.unicode.setdefault(chr(u), i)
        return font
    magic, _version, hsize, flags, count, size, height, width = struct.unpack_from(
        "<8I", data)
    if magic != PSF2_MAGIC:
        raise ValueError("not a PSF font")
    glyphs = [data[hsize + i * size:hsize + (i + 1) * size] for i in range(count)]
    font = PsfFont(width, height, glyphs)
    if flags & 1:
        table = data[hsize + count * size:]
        for i, entry in enumerate(table.split(b"\xff")[:count]):
            # Single characters first; after 0xFE come sequences (combining), skipped.
            singles = entry.split(b"\xfe")[0].decode("utf-8")
            for ch in singles:
                font.unicode.setdefault(ch, i)
    return font


_LAT15: PsfFont | None = None


def lat15() -> PsfFont:
    global _LAT15
    if _LAT15 is None:
        if not LAT15.exists():
            raise RuntimeError(f"{LAT15} missing: install Debian's console-setup-linux "
                               "(tests/run.sh does)")
        _LAT15 = parse_psf(LAT15.read_bytes())
    return _LAT15


# The glyphs of the kernel's CP437 font at 0x01-0x1F and 0x7F (its Unicode table maps them;
# Python's cp437 codec leaves those bytes as control characters).
CP437_DINGBATS = "☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼⌂"


def in_cp437(ch: str) -> bool:
    """The kernel's built-in font (CP437) has a glyph for `ch`. Its Unicode table also maps
    a few look-alikes onto other glyphs (accented capitals onto plain ones, for one): those
    are not counted, a stricter set."""
    if ch in CP437_DINGBATS:
        return True
    if ord(ch) < 0x20 or ord(ch) == 0x7F:
        return False
    try:
        ch.encode("cp437")
    except UnicodeEncodeError:
        return False
    return True


def in_lat15(ch: str) -> bool:
    return ch in lat15().unicode


def undrawable(grid: Grid) -> set[str]:
    """Characters on screen that one of the two fonts cannot draw (each shows a diamond)."""
    return {c.ch for row in grid for c in row if not (in_cp437(c.ch) and in_lat15(c.ch))}


# --- contrast ---------------------------------------------------------------------------


def luminance(rgb: tuple[int, int, int]) -> float:
    def lin(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def cell_contrast(c: Cell) -> float:
    return contrast(PALETTE[c.fg], PALETTE[c.bg])


def low_contrast(grid: Grid, minimum: float = 4.5) -> list[tuple[int, int, Cell, float]]:
    """Every non-blank cell whose final colours contrast below `minimum`."""
    out = []
    for y, row in enumerate(grid):
        for x, c in enumerate(row):
            if c.ch.strip() and (ratio := cell_contrast(c)) < minimum:
                out.append((y, x, c, ratio))
    return out


# --- PNG --------------------------------------------------------------------------------


def _chunk(kind: bytes, body: bytes) -> bytes:
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def png(grid: Grid, font: PsfFont | None = None) -> bytes:
    """The screen drawn with the font, 8x16 per cell, as an indexed PNG in the VGA palette
    (byte for byte the same for the same screen)."""
    font = font or lat15()
    w, h = font.width, font.height
    rows = []
    for line in grid:
        bitmaps = [(font.glyph_for(c.ch), c.fg, c.bg) for c in line]
        for gy in range(h):
            px = bytearray()
            for glyph, fg, bg in bitmaps:
                bits = int.from_bytes(glyph[gy * font.row_bytes:(gy + 1) * font.row_bytes],
                                      "big")
                top = font.row_bytes * 8 - 1
                px.extend(fg if bits >> (top - gx) & 1 else bg for gx in range(w))
            rows.append(b"\x00" + bytes(px))
    width, height = w * len(grid[0]), h * len(grid)
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)
    plte = b"".join(bytes(rgb) for rgb in PALETTE)
    idat = zlib.compress(b"".join(rows), 9)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"PLTE", plte)
            + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))


def read_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int]], list[bytes]]:
    """Decode what png() writes (checking every CRC): width, height, palette, pixel rows."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks = 8, {}
    while pos < len(data):
        (n,) = struct.unpack_from(">I", data, pos)
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack_from(">I", data, pos + 8 + n)
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, f"bad CRC in {kind!r}"
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + n
    width, height, depth, ctype = struct.unpack_from(">IIBB", chunks[b"IHDR"])
    assert (depth, ctype) == (8, 3), (depth, ctype)
    plte = chunks[b"PLTE"]
    palette = [tuple(plte[i:i + 3]) for i in range(0, len(plte), 3)]
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = width + 1
    rows = [raw[y * stride + 1:(y + 1) * stride] for y in range(height)]
    assert all(raw[y * stride] == 0 for y in range(height))
    return width, height, palette, rows  # type: ignore[return-value]


# --- the app in a pty -------------------------------------------------------------------


class ConsoleRun:
    """A program on an 80x24 pty with TERM=linux, its output fed into KernelScreen."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], cwd: str | Path | None = None,
                 cols: int = COLS, rows: int = ROWS) -> None:
        self.screen = KernelScreen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.master = master
        self.proc = subprocess.Popen(list(argv), stdin=slave, stdout=slave, stderr=slave,
                                     env=env, cwd=cwd, start_new_session=True)
        os.close(slave)
        self.last_output = time.monotonic()

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            ready, _, _ = select.select([self.master], [], [], min(left, 0.05))
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:  # the program exited and the pty closed
                    time.sleep(min(left, 0.05))
                    continue
                if not data:
                    continue
                self.raw.extend(data)
                self.stream.feed(data)
                self.last_output = time.monotonic()

    def text(self) -> str:
        return text_of(grid_of(self.screen))

    def wait_for(self, *texts: str, timeout: float = 30.0) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.pump(0.1)
            shown = self.text()
            if all(t in shown for t in texts):
                return shown
            if self.proc.poll() is not None:
                self.pump(0.2)
                raise AssertionError(f"the program exited ({self.proc.returncode}) before "
                                     f"{texts!r} appeared:\n{self.text()}")
        raise AssertionError(f"{texts!r} never appeared; the screen shows:\n{self.text()}")

    def wait_gone(self, text: str, timeout: float = 30.0) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.pump(0.1)
            if text not in (shown := self.text()):
                return shown
        raise AssertionError(f"{text!r} stayed; the screen shows:\n{self.text()}")

    def settle(self, quiet: float = 0.4, timeout: float = 4.0) -> Grid:
        """Until no output for `quiet` seconds (or `timeout`): the screen as drawn."""
        end = time.monotonic() + timeout
        self.pump(0.05)
        while time.monotonic() < end and time.monotonic() - self.last_output < quiet:
            self.pump(0.05)
        return grid_of(self.screen)

    def keys(self, *keys: str, gap: float = 0.25) -> None:
        for k in keys:
            os.write(self.master, KEYS.get(k, k).encode())
            self.pump(gap)

    def close(self) -> int | None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        os.close(self.master)
        return self.proc.returncode


KEYS = {"up": "\x1b[A", "down": "\x1b[B", "enter": "\r", "escape": "\x1b", "tab": "\t"}


def sgr_sequences(raw: bytes) -> set[str]:
    return {m.decode() for m in re.findall(rb"\x1b\[([0-9;:]*)m", raw)}


def report(grids: Iterable[tuple[str, Grid]]) -> str:
    """Per screen: cells below 4.5:1 and undrawable glyphs (for humans and the issue)."""
    lines = []
    for name, grid in grids:
        low = low_contrast(grid)
        bad = "".join(sorted(undrawable(grid)))
        lines.append(f"{name:<14} cells<4.5: {len(low):4}  undrawable: {bad or '-'}")
    return "\n".join(lines)


# --- the main screens, as an operator reaches them ------------------------------------------

# (name, keys, text that shows the screen is there). Method 4 comes last: its probe field
# may take the keyboard (digits typed there do not switch screens).
SCREENS = (
    ("overview", (), "checks done"),
    ("address", ("up", "enter"), "pick yours"),
    ("method1", ("enter", "!checked", "1"), "hosts.deny"),
    ("method2", ("2",), "liblz4"),
    ("method3", ("3",), "whitelist"),
    ("others", ("5",), "other causes"),
    ("summary", ("n",), "Findings"),
    ("help", ("?",), "Esc close"),
    ("confirm", ("escape", "1", "a"), "Apply this fix?"),
    ("method4", ("escape", "4"), "From your machine"),
)


def tour(run: ConsoleRun, screens: Sequence[tuple[str, Sequence[str], str]] = SCREENS,
         timeout: float = 40.0) -> list[tuple[str, Grid]]:
    """Press each screen's keys, wait for its text, take the screen once drawing stops."""
    shots = []
    run.wait_for("checks done", timeout=timeout)
    for name, keys, marker in screens:
        for key in keys:
            if key == "!checked":  # a re-check was started: until it is done
                run.wait_gone("working:", timeout=timeout)
                run.wait_for("checks done", timeout=timeout)
            else:
                run.keys(key)
        run.wait_for(marker, timeout=timeout)
        shots.append((name, run.settle()))
    return shots
