"""Is a process still alive? (`--parent-pid`: the backend must not outlive Blender.)"""

from __future__ import annotations

import os
import sys


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":  # os.kill(pid, 0) would send CTRL_C_EVENT on Windows
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


class ParentWatch:
    """Reports the parent's death: its pid is gone, or (on POSIX) we were re-parented away from it."""

    def __init__(self, pid: int | None):
        self.pid = pid
        self._was_child = pid is not None and hasattr(os, "getppid") and os.getppid() == pid

    def parent_gone(self) -> bool:
        if self.pid is None:
            return False
        if self._was_child and os.getppid() != self.pid:
            return True
        return not pid_alive(self.pid)
