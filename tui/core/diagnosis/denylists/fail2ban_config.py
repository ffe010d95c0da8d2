"""fail2ban's jail configuration: the jail files in fail2ban's order (jail.conf, jail.d/*.conf,
jail.local, jail.d/*.local), every jail with its values resolved as fail2ban resolves them
(%(...)s interpolation included), its actions and their [options] split as fail2ban splits
them, and fail2ban's time abbreviations ("10m", "1h 30m", "-1") turned into seconds.
"""

from __future__ import annotations

import configparser
import contextlib
import ipaddress
import re
from dataclasses import dataclass, field

from tui.core.diagnosis.denylists.shared import TIME_UNITS, addr, data
from tui.core.facts.model import Facts

JAIL_DIR = "/etc/fail2ban/jail.d"
JAIL_CONF, JAIL_LOCAL = "/etc/fail2ban/jail.conf", "/etc/fail2ban/jail.local"
# fail2ban's own action-list syntax (helpers.py): `act[p1="..", p2='..', p3=..][p4=..]`,
# one per word or line, brackets and quotes may hold spaces.
_OPTION_SPLIT = re.compile(
    r'(?:[^\[\s]+(?:\s*\[\s*(?:[\w\-_\.]+=(?:"[^"]*"|\'[^\']*\'|[^,\]]*)\s*(?:,|\]\s*\[)?\s*)*'
    r'\])?\s*|\S+)(?=\n\s*|\s+|$)', re.DOTALL)
_OPTION = re.compile(r"^([^\[]+)(?:\[(.*)\])?\s*$", re.DOTALL)
_OPTION_VALUE = re.compile(r'\s*([\w\-_\.]+)=(?:"([^"]*)"|\'([^\']*)\'|([^,\]]*))', re.DOTALL)
_TRUE = ("1", "yes", "true", "on")
_MAX_SECONDS = 10**11  # about 3000 years: a longer ban time is "forever" written oddly


@dataclass
class Jail:
    name: str
    enabled: bool
    actions: list[str] = field(default_factory=list)  # action names: hostsdeny, nftables...
    ignoreip: list[str] = field(default_factory=list)
    bantime: str | None = None
    port: str | None = None
    # the [options] of each action, in the order of `actions`
    action_options: list[dict[str, str]] = field(default_factory=list)
    increment: bool = False  # bantime.increment
    maxtime: str | None = None  # bantime.maxtime

    def ignores(self, ip: str) -> bool:
        a = addr(ip)
        for entry in self.ignoreip:
            with contextlib.suppress(ValueError):
                if a is not None and a in ipaddress.ip_network(entry, strict=False):
                    return True
        return False


def jail_files(facts: Facts) -> list[str]:
    """In fail2ban's order: jail.conf, jail.d/*.conf, jail.local, jail.d/*.local."""
    drop_in = sorted(p for p in facts.files if p.startswith(JAIL_DIR + "/"))
    return [p for p in ([JAIL_CONF] + [p for p in drop_in if p.endswith(".conf")]
                        + [JAIL_LOCAL] + [p for p in drop_in if p.endswith(".local")])
            if data(facts, p) is not None]


def _parser(default_section: str = configparser.DEFAULTSECT) -> configparser.RawConfigParser:
    return configparser.RawConfigParser(strict=False, inline_comment_prefixes=(";",),
                                        empty_lines_in_values=False,
                                        default_section=default_section)


def jails(facts: Facts, notes: list[str] | None = None) -> dict[str, Jail]:
    """Every jail of the configuration, with its values resolved as fail2ban does."""
    cp = _parser()
    # %(known/opt)s is the section's value before the file that set it last: remember the
    # values each file overrides ([DEFAULT] aside: a separate parse keeps sections apart).
    own: dict[str, dict[str, str]] = {}
    known: dict[tuple[str, str], list[str]] = {}
    for path in jail_files(facts):
        text = (data(facts, path) or b"").decode("utf-8", "replace")
        try:
            cp.read_string(text, path)
        except configparser.Error as e:
            if notes is not None:
                notes.append(f"{path}: {e.message.splitlines()[0]}")
        one = _parser(default_section="\0")
        with contextlib.suppress(configparser.Error):  # what it did parse is still there
            one.read_string(text, path)
        for sec in one.sections():
            values = own.setdefault(sec, {})
            for opt in one.options(sec):
                if opt in values:
                    known.setdefault((sec, opt), []).append(values[opt])
                values[opt] = one.get(sec, opt)
    out = {}
    for name in cp.sections():
        if name == "INCLUDES" or "/" in name:
            continue

        def get(key: str, section: str = name) -> str | None:
            return _interpolate(cp, section, cp.get(section, key), known) if cp.has_option(
                section, key) else None

        enabled = (get("enabled") or "false").strip().lower() in _TRUE
        # jail.conf's [DEFAULT] builds `action` from `banaction`; without it, banaction alone
        acts = _actions(get("action") or get("banaction") or "")
        out[name] = Jail(name, enabled, [a for a, _ in acts],
                         [w for w in re.split(r"[ ,\n]+", get("ignoreip") or "") if w],
                         get("bantime"), get("port"), [o for _, o in acts],
                         (get("bantime.increment") or "").strip().lower() in _TRUE,
                         get("bantime.maxtime"))
    return out


def _interpolate(cp: configparser.RawConfigParser, section: str, value: str,
                 known: dict[tuple[str, str], list[str]], depth: int = 0,
                 back: dict[str, int] | None = None) -> str:
    """%(name)s from the section (then [DEFAULT]), %(default/name)s from [DEFAULT],
    %(known/name)s from an earlier file (else [DEFAULT]), %(other/name)s from section
    [other]; what is substituted resolves in this section. Unknown names stay as they are.
    `back`: how many files back the value being resolved came from, per known/ name (a
    known value may itself say "%(known/name)s more")."""
    if depth > 10 or "%(" not in value:
        return value
    back = back or {}

    def sub(m: re.Match[str]) -> str:
        ref = m.group(1)
        if ref == "__name__":
            return section
        where, _, opt = ref.partition("/") if "/" in ref else ("", "", ref)
        key = cp.optionxform(opt)
        raw: str | None = None
        deeper = back
        if not where:
            raw = cp.get(section, key) if cp.has_option(section, key) else None
        elif where.lower() == "known":
            earlier, n = known.get((section, key), []), back.get(key, 0) + 1
            raw = earlier[-n] if n <= len(earlier) else cp.defaults().get(key)
            deeper = {**back, key: n}
        elif where.lower() == "default":
            raw = cp.defaults().get(key)
        elif cp.has_section(where) and cp.has_option(where, key):
            raw = cp.get(where, key)
        if raw is None:
            return m.group(0)
        return _interpolate(cp, section, raw, known, depth + 1, deeper)

    return re.sub(r"%\(([\w/.-]+)\)s", sub, value)


def _actions(action: str) -> list[tuple[str, dict[str, str]]]:
    """(name, options) of each action in an `action` value, split as fail2ban does."""
    out = []
    for act in _OPTION_SPLIT.findall(action):
        m = _OPTION.match(act.strip())
        if not m:
            continue
        name = m.group(1).strip()
        if not re.fullmatch(r"[\w.-]+", name):
            continue  # an unresolved %(...)s, or not an action name at all
        opts = {}
        for o in _OPTION_VALUE.finditer(m.group(2) or ""):
            opts[o.group(1).lower()] = next(v for v in o.group(2, 3, 4) if v is not None)
        out.append((name, opts))
    return out


def seconds(value: str | None) -> int | None:
    """fail2ban's time abbreviations: "600", "10m", "1h 30m", "1w", "-1"."""
    if value is None:
        return None
    v = value.strip().lower()
    if not v.isascii() or len(v) > 64:  # '²', Arabic-Indic digits, a 240-digit number
        return None
    with contextlib.suppress(ValueError, OverflowError):  # "nan", "inf"
        return _bounded(float(v))
    total, pos = 0.0, 0
    for m in re.finditer(r"\s*(-?[0-9]+(?:\.[0-9]+)?)\s*(mo\w*|[a-z]+)?", v):
        if m.start() != pos:
            return None
        unit = (m.group(2) or "s")
        key = "mo" if unit.startswith("mo") else unit[0]
        if key not in TIME_UNITS:
            return None
        total += float(m.group(1)) * TIME_UNITS[key]
        pos = m.end()
    return _bounded(total) if pos == len(v) and pos else None


def _bounded(secs: float) -> int | None:
    """Whole seconds; None past what any clock can show (so no date overflows later)."""
    return int(secs) if abs(secs) <= _MAX_SECONDS else None
