"""What the tests share: labs (a real sshd, namespaces, fail2ban), disk fixtures (Debian,
CentOS 7, Alibaba Cloud Linux 3), the tcpdmatch oracle, fault injection, the recorded cases
and the host guard. No tests here."""
