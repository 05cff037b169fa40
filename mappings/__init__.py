"""pyx12 map directory for the engine's EDI: pass ``str(MAP_DIR)`` as ``map_path``.

Holds the inbound 820 map (contract: docs/820-guide.md), the outbound 824 and
997 maps, and the support files pyx12 loads from the same folder (maps.xml,
codes.xml, dataele.xml, x12.control.00401.xml). See each file's header comment
for what it encodes and why.
"""

from pathlib import Path

MAP_DIR: Path = Path(__file__).resolve().parent

__all__ = ["MAP_DIR"]
