"""The pyx12 maps of the engine: the inbound 820 guide, the 824 and 997 it sends, control segments."""

from pathlib import Path

MAP_DIR = Path(__file__).resolve().parent

__all__ = ["MAP_DIR"]
