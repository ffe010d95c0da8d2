"""Write tests/recorded/ from the current code:
`python -m tests.helpers.record_outputs [CASE...]`.

Only after an intended change of output: the recordings are what test_json_recorded holds
the code to, byte for byte.
"""

from __future__ import annotations

import sys

from tests.helpers.recorded_cases import CASES, RECORDED, render_case


def main(names: list[str]) -> int:
    import os

    # The cases' fixes and undos would go to the real action log otherwise (no conftest here).
    os.environ["SSH_RESET_DOCTOR_ACTION_LOG"] = "off"
    RECORDED.mkdir(exist_ok=True)
    for name in names or sorted(CASES):
        (RECORDED / f"{name}.txt").write_text(render_case(CASES[name]))
        print(f"recorded {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
