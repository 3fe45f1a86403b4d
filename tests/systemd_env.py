#!/usr/bin/python3
"""The environment systemd gives a service, computed the way systemd computes it, for tests.

Written from systemd.exec(5) and systemd.unit(5) (and checked against systemd's
src/basic/env-file.c for the details those pages leave out; a comment that ends in a backslash
continues onto the next line up to systemd 253 and not since 254, so t_systemd_env.sh refuses
such comments instead of choosing):
- EnvironmentFile=: a comment is a line whose first non-blank character is # or ; (a # after a
  value is part of the value); KEY=VALUE, blanks around the key and before the value dropped,
  trailing blanks of an unquoted value dropped; '...' keeps everything, "..." unescapes \\ \" \\$
  \\` and keeps other backslashes; a backslash at the end of a line continues the value (in
  quotes, too); outside quotes a backslash takes the next character literally; a line without =
  is ignored; names must be shell variable names; later assignments win; several files are
  read in order; a leading "-" makes a missing file no error.
- Environment=: specifiers (%i, %I, %n, %N, %p, %S, %%) are expanded, then the value is split
  into words like a shell (quotes); each word is KEY=VALUE; an empty Environment= resets.
- The result: the manager's environment (PATH), then what the service manager sets for the
  process (USER, HOME, ... with User=; STATE_DIRECTORY with StateDirectory=; INVOCATION_ID,
  JOURNAL_STREAM), then Environment=, then EnvironmentFile=: a later source overrides an
  earlier one, so a file beats Environment=.

Usage: systemd_env.py env UNIT INSTANCE STATE_ROOT   prints KEY=VALUE entries, NUL-separated
       systemd_env.py file ENVFILE                   the file's assignments, NUL-separated
       systemd_env.py get UNIT KEY                   a [Service] setting (the last one)
       systemd_env.py selftest                       the rules above on small examples
"""
import os
import re
import shlex
import sys

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
SHELL_NEED_ESCAPE = '"\\`$'


def parse_env_text(text):
    """Assignments of an EnvironmentFile= text, in order: a list of (key, value)."""
    out = []
    state, key, value = "pre_key", "", None

    def push():
        k = key.rstrip(" \t")
        if NAME.match(k):
            out.append((k, value if value is not None else ""))

    for c in text:
        if state == "pre_key":
            if c in "#;":
                state = "comment"
            elif c not in " \t\n\r":
                state, key, value = "key", c, None
        elif state == "key":
            if c in "\n\r":
                state = "pre_key"
            elif c == "=":
                state = "pre_value"
            else:
                key += c
        elif state == "pre_value":
            if c in "\n\r":
                push()
                state = "pre_key"
            elif c == "'":
                state, value = "single", value or ""
            elif c == '"':
                state, value = "double", value or ""
            elif c == "\\":
                state, value = "value_escape", value or ""
            elif c not in " \t":
                state, value = "value", (value or "") + c
        elif state == "value":
            if c in "\n\r":
                value = value.rstrip(" \t")
                push()
                state = "pre_key"
            elif c == "\\":
                state = "value_escape"
            else:
                value += c
        elif state == "value_escape":
            state = "value"
            if c not in "\n\r":
                value += c
        elif state == "single":
            if c == "'":
                state = "pre_value"
            else:
                value += c
        elif state == "double":
            if c == '"':
                state = "pre_value"
            elif c == "\\":
                state = "double_escape"
            else:
                value += c
        elif state == "double_escape":
            state = "double"
            if c in SHELL_NEED_ESCAPE:
                value += c
            elif c != "\n":
                value += "\\" + c
        elif state == "comment":
            if c in "\n\r":
                state = "pre_key"
    if state not in ("pre_key", "key", "comment"):
        if state == "value":
            value = value.rstrip(" \t")
        push()
    return out


def parse_unit(text):
    """The [Service] settings of a unit file: a list of (name, value), continuations joined."""
    settings, section, pending = [], None, ""
    for raw in text.split("\n"):
        line = pending + raw
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        if s.startswith("[") and s.endswith("]"):
            section = s[1:-1]
        elif section == "Service" and "=" in s:
            name, value = s.split("=", 1)
            settings.append((name.strip(), value.strip()))
    return settings


def expand_specifiers(value, unit, instance, state_root):
    prefix = unit.split("@")[0] if "@" in unit else unit.rsplit(".", 1)[0]
    full = unit.replace("@.", "@%s." % instance) if "@" in unit else unit
    table = {"i": instance, "I": instance, "n": full, "N": full.rsplit(".", 1)[0],
             "p": prefix, "S": state_root, "%": "%"}

    def one(m):
        if m.group(1) not in table:
            raise ValueError("specifier %%%s not known to this test" % m.group(1))
        return table[m.group(1)]
    return re.sub(r"%(.)", one, value)


def service_env(unit_path, instance, state_root):
    """The environment of the unit's main process, as a dict."""
    unit = os.path.basename(unit_path)
    settings = parse_unit(open(unit_path).read())
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    user = [v for k, v in settings if k == "User"]
    if user:
        env.update(USER=user[-1], LOGNAME=user[-1], HOME="/", SHELL="/usr/sbin/nologin")
    states = [v for k, v in settings if k == "StateDirectory"]
    if states and states[-1]:
        env["STATE_DIRECTORY"] = ":".join(os.path.join(state_root, d) for d in states[-1].split())
    env["INVOCATION_ID"] = "0" * 32
    env["JOURNAL_STREAM"] = "8:12345"
    assigned, files = [], []
    for k, v in settings:
        if k == "Environment":
            if not v:
                assigned = []
            for word in shlex.split(expand_specifiers(v, unit, instance, state_root)):
                name, sep, val = word.partition("=")
                if not sep or not NAME.match(name):
                    raise ValueError("Environment= word %r is not an assignment" % word)
                assigned.append((name, val))
        elif k == "EnvironmentFile":
            files = [] if not v else files + [expand_specifiers(v, unit, instance, state_root)]
    env.update(assigned)
    for f in files:
        optional = f.startswith("-")
        path = f[1:] if optional else f
        if optional and not os.path.exists(path):
            continue
        env.update(parse_env_text(open(path).read()))
    return env


def selftest():
    cases = [
        ("A=b # c\n", [("A", "b # c")]),
        ("# A=b\n; B=c\n  # C=d\n", []),
        ('F="not port 22"\n', [("F", "not port 22")]),
        ("F='a \"b\" $c'\n", [("F", 'a "b" $c')]),
        ('F="a\\"b\\\\c\\d"\n', [("F", 'a"b\\c\\d')]),
        ("  K = v  \n", [("K", "v")]),
        ("A=one\\\ntwo\n", [("A", "onetwo")]),
        ('A="one\\\ntwo"\n', [("A", "onetwo")]),
        ("A=x\\ y\n", [("A", "x y")]),
        ("A=1\nA=2\n", [("A", "1"), ("A", "2")]),
        ("no assignment\nB=\n", [("B", "")]),
        ("1X=a\nX-Y=b\n", []),
        ("A=last", [("A", "last")]),
    ]
    for text, want in cases:
        got = parse_env_text(text)
        if got != want:
            sys.exit("selftest: %r gave %r, want %r" % (text, got, want))
    words = shlex.split(expand_specifiers('A=%i "B=x y" C=%%i', "u@.service", "lo", "/s"))
    if words != ["A=lo", "B=x y", "C=%i"]:
        sys.exit("selftest: Environment= words %r" % words)
    print("selftest: %d env-file cases and the Environment= splitting pass" % len(cases))


def main(argv):
    if argv[1:2] == ["selftest"]:
        selftest()
    elif argv[1:2] == ["env"]:
        env = service_env(argv[2], argv[3], argv[4])
        sys.stdout.write("".join("%s=%s\0" % kv for kv in env.items()))
    elif argv[1:2] == ["file"]:
        pairs = parse_env_text(open(argv[2]).read())
        sys.stdout.write("".join("%s=%s\0" % kv for kv in pairs))
    elif argv[1:2] == ["get"]:
        vals = [v for k, v in parse_unit(open(argv[2]).read()) if k == argv[3]]
        print(vals[-1] if vals else "")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
