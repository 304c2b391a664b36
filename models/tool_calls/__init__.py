"""Tool calls in the text of open models: detect a template's format, parse and stream replies.

Example:
    >>> from threadloom.models.tool_calls import detect_format, parse_tool_calls
    >>> parse_tool_calls('[TOOL_CALLS][{"name": "f", "arguments": {"x": 1}}]', "mistral")[0]["args"]
    {'x': 1}
"""

from threadloom.models.tool_calls.detect import detect_format
from threadloom.models.tool_calls.formats import FORMATS, NO_TOOLS, REACT, UnknownFormatError
from threadloom.models.tool_calls.pieces import ParsedReply, Piece
from threadloom.models.tool_calls.reply import StreamSplitter, parse_reply, parse_tool_calls

__all__ = [
    "FORMATS",
    "NO_TOOLS",
    "REACT",
    "ParsedReply",
    "Piece",
    "StreamSplitter",
    "UnknownFormatError",
    "detect_format",
    "parse_reply",
    "parse_tool_calls",
]
