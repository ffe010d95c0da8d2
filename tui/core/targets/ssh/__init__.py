"""The SSH target, over paramiko (imported only for --host).

connection: SSHConnection (commands, sudo, SFTP); options: what to connect to, ssh_config;
knownhosts: host key checks; auth: key login; handshake: one hop's TCP + SSH set-up and its
errors; channel: one command on one channel; sudo; sftp: starting the SFTP server.
This file imports nothing, so walking tui.core does not load paramiko.
"""
