"""NHS policy assistant: cited answers and objective mapping over NHS policy documents."""

from __future__ import annotations

__version__ = "0.1.0"
