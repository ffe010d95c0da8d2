"""The built-in sample system of ``ssh-reset-doctor --demo``: a Debian 12 disk with both faults.

:func:`build_sample` writes it under a new or empty directory; the offline collector and the
checks then treat it exactly like a real system mounted there (``--root``). The binaries are
synthesized ELF files, so it is identical on every machine and needs neither root nor openssh.
"""

from tui.core.demo.build import Sample, SampleError, build_sample

__all__ = ["Sample", "SampleError", "build_sample"]
