"""The options field of a matched rule (hosts_options(5)), as Debian's options.c runs it.

Only what changes the verdict is modelled: allow/deny, twist (the connection is handed to a
command: "delegated"), and every check that makes libwrap give up and deny
(tcpd_jump()). Commands are never run.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum  # (re loads enum anyway)

from tui.core.tcpwrappers import clib
from tui.core.tcpwrappers.values import Frozen

NEED_ARG, OPT_ARG, USE_LAST = 1, 2, 4

OPTION_FLAGS: dict[bytes, int] = {
    b"user": NEED_ARG,
    b"group": NEED_ARG,
    b"umask": NEED_ARG,
    b"linger": NEED_ARG,
    b"keepalive": 0,
    b"spawn": NEED_ARG,
    b"twist": NEED_ARG | USE_LAST,
    b"rfc931": OPT_ARG,
    b"setenv": NEED_ARG,
    b"nice": OPT_ARG,
    b"severity": NEED_ARG,
    b"allow": USE_LAST,
    b"deny": USE_LAST,
    b"banners": NEED_ARG,
    b"aclexec": NEED_ARG,
}
FACILITIES = {b"kern", b"user", b"mail", b"daemon", b"auth", b"lpr", b"news", b"uucp", b"cron"}
FACILITIES |= {b"local%d" % i for i in range(8)}
SEVERITIES = {b"emerg", b"alert", b"crit", b"err", b"warning", b"notice", b"info", b"debug"}
_WS = b" \t\r\n"


class Outcome(Enum):
    NONE = "none"  # options ran; the table decides (allow file grants, deny file denies)
    ALLOW = "allow"
    DENY = "deny"  # an explicit `deny`, or libwrap gave up on a bad option (fail closed)
    TWIST = "twist"  # the connection is handed to a command: no sshd for this client


class OptionsResult(Frozen):
    __slots__ = ("outcome", "error", "option")

    def __init__(self, outcome: Outcome, error: str | None = None,
                 option: str | None = None) -> None:
        self.outcome = outcome
        self.error = error  # why libwrap gave up, when it did
        self.option = option  # the option that decided, for display


class Accounts(Frozen):
    """Account lookups the user/group options need (the target's, not always ours)."""

    __slots__ = ("user_uid", "group_exists")

    def __init__(self, user_uid: Callable[[bytes], int | None],
                 group_exists: Callable[[bytes], bool]) -> None:
        self.user_uid = user_uid
        self.group_exists = group_exists


def _local_uid(name: bytes) -> int | None:
    import pwd

    try:
        return pwd.getpwnam(name.decode("latin-1")).pw_uid
    except (KeyError, ValueError, UnicodeError):
        return None


def _local_group(name: bytes) -> bool:
    import grp

    try:
        grp.getgrnam(name.decode("latin-1"))
        return True
    except (KeyError, ValueError, UnicodeError):
        return False


LOCAL_ACCOUNTS = Accounts(_local_uid, _local_group)


def accounts_from_files(passwd: bytes, group: bytes) -> Accounts:
    """Accounts of an offline root, read from its /etc/passwd and /etc/group."""
    uids: dict[bytes, int] = {}
    for line in passwd.splitlines():
        f = line.split(b":")
        if len(f) > 2 and f[0] and f[0] not in uids:
            try:
                uids[f[0]] = int(f[2])
            except ValueError:
                continue
    groups = {line.split(b":", 1)[0] for line in group.splitlines() if line[:1] not in b"#"}
    return Accounts(uids.get, lambda g: g in groups)


def get_fields(s: bytes) -> list[bytes]:
    """options.c get_field(): split at ':' where `\\:` is a literal colon."""
    fields: list[bytes] = []
    i, n = 0, len(s)
    while i < n:
        cur = bytearray()
        while i < n:
            c = s[i]
            if c == 0x3A:
                i += 1
                break
            if c == 0x5C and i + 1 < n and s[i + 1] == 0x3A:
                i += 1
            cur.append(s[i])
            i += 1
        fields.append(bytes(cur))
    return fields


def split_option(field: bytes) -> tuple[bytes, bytes | None]:
    """Name and value; one '=' between them is allowed (and ignored)."""
    field = field.strip(clib.C_SPACE)  # chop_string()
    k = 0
    while k < len(field) and field[k] not in b"= \t\r\n":
        k += 1
    key, value = field[:k], field[k:]
    if value:
        if value[:1] != b"=":
            value = value[1:].lstrip(_WS)
        if value[:1] == b"=":
            value = value[1:].lstrip(_WS)
    return key, (value or None)


def process_options(text: bytes, accounts: Accounts = LOCAL_ACCOUNTS) -> OptionsResult:
    fields = get_fields(text)
    for idx, f in enumerate(fields):
        key, value = split_option(f)
        shown = f.strip(clib.C_SPACE).decode("utf-8", "backslashreplace")
        if not key:
            return OptionsResult(Outcome.DENY, "missing option name (empty option field)", shown)
        flags = OPTION_FLAGS.get(key.lower())
        name = key.decode("utf-8", "backslashreplace")
        if flags is None:
            return OptionsResult(Outcome.DENY, f'bad option name: "{name}"', shown)
        if value is None and flags & NEED_ARG:
            return OptionsResult(Outcome.DENY, f'option "{name}" requires value', shown)
        if value is not None and not flags & (NEED_ARG | OPT_ARG):
            return OptionsResult(Outcome.DENY, f'option "{name}" requires no value', shown)
        if idx + 1 < len(fields) and flags & USE_LAST:
            return OptionsResult(Outcome.DENY, f'option "{name}" must be at end', shown)
        error = _check_value(key.lower(), value, accounts)
        if error:
            return OptionsResult(Outcome.DENY, error, shown)
        low = key.lower()
        if low == b"allow":
            return OptionsResult(Outcome.ALLOW, None, shown)
        if low == b"deny":
            return OptionsResult(Outcome.DENY, None, shown)
        if low == b"twist":
            return OptionsResult(Outcome.TWIST, None, shown)
    return OptionsResult(Outcome.NONE)


def _check_value(key: bytes, value: bytes | None, accounts: Accounts) -> str | None:
    """The option's own validation; a message where libwrap would tcpd_jump() (deny)."""
    v = value.decode("utf-8", "backslashreplace") if value is not None else ""
    if key == b"user":
        assert value is not None
        user, group = clib.split_at(value, 0x2E)  # "user.group"
        if group is not None and not accounts.group_exists(group):
            return f'unknown group: "{group.decode("utf-8", "backslashreplace")}"'
        uid = accounts.user_uid(user)
        if uid is None:
            return f'unknown user: "{user.decode("utf-8", "backslashreplace")}"'
        if group is None and uid != 0:
            # Debian calls setuid() before setgid(): the setgid fails once root is gone.
            return f'user "{v}" without ".group": setgid() fails after setuid() (libwrap bug)'
    elif key == b"group":
        if not accounts.group_exists(value or b""):
            return f'unknown group: "{v}"'
    elif key == b"umask":
        mask = clib.scan_octal(value or b"")
        if mask is None or mask & 0o777 != mask:
            return f'bad umask value: "{v}"'
    elif key == b"linger":
        n = clib.scan_int(value or b"")
        if n is None or n < 0:
            return f'bad linger value: "{v}"'
    elif key == b"rfc931" and value is not None:
        n = clib.scan_int(value)
        if n is None or n <= 0:
            return f'bad rfc931 timeout: "{v}"'
    elif key == b"nice" and value is not None:
        if clib.scan_int(value) is None:
            return f'bad nice value: "{v}"'
    elif key == b"severity":
        first, second = clib.split_at(value or b"", 0x2E)
        fac, level = (first, second) if second is not None else (None, first)
        if fac is not None and fac.lower() not in FACILITIES:
            return f'bad syslog facility or severity: "{fac.decode("utf-8", "replace")}"'
        if level.lower() not in SEVERITIES:
            return f'bad syslog facility or severity: "{level.decode("utf-8", "replace")}"'
    elif key == b"setenv":
        k = 0
        val = value or b""
        while k < len(val) and val[k] not in _WS:
            k += 1
        var = val[:k].strip(clib.C_SPACE)
        if not var or b"=" in var:
            return f'setenv "{v}": invalid variable name'
    return None
