"""Target options shared by check, fix, undo (and the wizard); argparse only, so cheap."""

from __future__ import annotations

import argparse


def add_target_arguments(p: argparse.ArgumentParser, client_ip: bool = True) -> None:
    g = p.add_argument_group("target (default: this machine)")
    g.add_argument("--root", metavar="DIR", help="a system mounted at DIR (offline)")
    g.add_argument("--host", metavar="[USER@]HOST[:PORT]", help="over SSH (paramiko)")
    g.add_argument("-i", dest="identities", action="append", default=[], metavar="KEYFILE",
                   help="identity file for --host (repeatable)")
    g.add_argument("-J", dest="jump", metavar="[USER@]JUMP[:PORT]", help="jump host")
    g.add_argument("--sudo", action="store_true", help="use sudo on the host (sudo -n first)")
    g.add_argument("--timeout", type=float, default=10.0, metavar="S",
                   help="SSH connect/banner/auth timeout in seconds (default 10)")
    if client_ip:
        p.add_argument("--client-ip", metavar="ADDR",
                       help="the operator's address as the target sees it")
