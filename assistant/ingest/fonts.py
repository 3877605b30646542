"""Reading a PDF character's face (bold or not) through pdfium, cheaply."""

from __future__ import annotations

import re


class Faces:
    """Whether a character is set in a bold face: by the font's weight, else by its name
    (bold, black, heavy). A line asks only as far as it must, with one buffer for the names
    and each name read once: this is the costliest call of reading a page."""

    def __init__(self, raw) -> None:
        import ctypes

        self._raw, self._ctypes = raw, ctypes
        self._buf = ctypes.create_string_buffer(128)
        self._flags = ctypes.c_int(0)
        self._named: dict[bytes, bool] = {}

    def mostly_bold(self, tp, indexes: list[int]) -> bool:
        """Whether at least 0.8 of these characters are bold; stops asking once more than
        0.2 are not, as in most lines of body text."""
        allowed, plain = 0.2 * len(indexes), 0
        for c in indexes:
            if not self.bold(tp, c):
                plain += 1
                if plain > allowed:
                    return False
        return True

    def bold(self, tp, c: int) -> bool:
        weight = self._raw.FPDFText_GetFontWeight(tp.raw, c)
        if weight > 0:
            return weight >= 600
        self._raw.FPDFText_GetFontInfo(tp.raw, c, self._buf, 128, self._ctypes.byref(self._flags))
        name = self._buf.value
        if name not in self._named:
            self._named[name] = bool(re.search(rb"bold|black|heavy", name, re.I))
        return self._named[name]
